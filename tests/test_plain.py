import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import torch

from core.plain import finite_only, plain
from core.store.rows import to_json


def test_numpy_values_become_builtin_types_recursively():
    value = plain(
        {
            "f": np.float32(0.5),
            "i": np.int16(3),
            "b": np.bool_(False),
            "a": np.arange(3),
            "t": (1, np.float64(2.0)),
            "p": Path("/x/y"),
            "d": dt.date(2026, 1, 2),
            "z": torch.tensor(1.5),
            7: "int key",
        }
    )
    assert value == {
        "f": 0.5,
        "i": 3,
        "b": False,
        "a": [0, 1, 2],
        "t": [1, 2.0],
        "p": "/x/y",
        "d": "2026-01-02",
        "z": 1.5,
        "7": "int key",
    }
    assert type(value["i"]) is int and type(value["f"]) is float and type(value["b"]) is bool


def test_unknown_objects_are_refused_with_the_place_they_were_found():
    with pytest.raises(TypeError, match=r"metrics\['probe'\] is a object"):
        plain({"probe": object()}, "metrics")


def test_finite_only_drops_unmeasured_figures():
    assert finite_only({"a": np.float64("nan"), "b": float("inf"), "c": np.float64(1)}) == {
        "c": 1.0
    }


def test_json_columns_go_through_the_converter():
    assert to_json({"x": np.float64(0.25), "n": np.int64(2)}) == '{"n": 2, "x": 0.25}'
    with pytest.raises(TypeError):
        to_json({"x": object()})
