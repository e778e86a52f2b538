import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.map_region import Region, inside_polygon, parse_region


def naive_inside(x: float, y: float, px: list[float], py: list[float]) -> bool:
    """The even-odd rule, one point and one edge at a time."""
    inside = False
    n = len(px)
    for k in range(n):
        x1, y1, x2, y2 = px[k - 1], py[k - 1], px[k], py[k]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


coordinate = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(
    polygon=st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=12),
    points=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=40),
)
def test_the_vectorised_lasso_agrees_with_a_loop_over_points_and_edges(polygon, points):
    px, py = (np.array(c, dtype=float) for c in zip(*polygon, strict=True))
    x, y = (np.array(c, dtype=float) for c in zip(*points, strict=True))
    mask = inside_polygon(x, y, px, py)
    expected = [naive_inside(a, b, list(px), list(py)) for a, b in zip(x, y, strict=True)]
    assert mask.tolist() == expected


def test_a_concave_lasso_leaves_out_its_notch():
    # a "U": the notch between the arms is outside although inside the bounding box
    xs = [0, 3, 3, 2, 2, 1, 1, 0]
    ys = [0, 0, 3, 3, 1, 1, 3, 3]
    region = Region("m", "lasso", tuple(map(float, xs)), tuple(map(float, ys)))
    mask = region.contains(np.array([0.5, 1.5, 2.5, 1.5, 5.0]), np.array([2.0, 2.0, 2.0, 0.5, 0.5]))
    assert mask.tolist() == [True, False, True, True, False]


def test_a_box_includes_its_edges_whichever_corner_comes_first():
    region = parse_region({"map": "m", "kind": "box", "x": [2, -1], "y": [1.5, 0]})
    assert region is not None
    mask = region.contains(np.array([-1, 2, 0, 2.01, 0]), np.array([0, 1.5, 1, 1, -0.1]))
    assert mask.tolist() == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("box", "box or a lasso"),
        ({"map": "m", "kind": "circle", "x": [0, 1], "y": [0, 1]}, "not 'circle'"),
        ({"kind": "box", "x": [0, 1], "y": [0, 1]}, "which map"),
        ({"map": "m", "kind": "box", "x": [0, 1], "y": [0]}, "as many x as y"),
        ({"map": "m", "kind": "box", "x": [0, 1, 2], "y": [0, 1, 2]}, "two corners"),
        ({"map": "m", "kind": "lasso", "x": [0, 1], "y": [0, 1]}, "3 to"),
        ({"map": "m", "kind": "box", "x": [0, float("nan")], "y": [0, 1]}, "finite numbers"),
        ({"map": "m", "kind": "box", "x": [0, "1"], "y": [0, 1]}, "finite numbers"),
        ({"map": "m", "kind": "box", "x": [0, True], "y": [0, 1]}, "finite numbers"),
        ({"map": "m", "kind": "box", "x": [0, 10**400], "y": [0, 1]}, "finite numbers"),
        ({"map": "m", "kind": "lasso", "x": [0.0] * 1001, "y": [0.0] * 1001}, "3 to 1000"),
    ],
)
def test_what_is_not_a_region_is_refused_in_words(value, words):
    with pytest.raises(ValueError, match=words):
        parse_region(value)


def test_no_selection_is_none():
    assert parse_region(None) is None and parse_region({}) is None
