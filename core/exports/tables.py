"""The columns of each per-version export: name, the pandas dtype it opens with, and
what it holds (the README's column tables say the same). Parquet files carry these
dtypes (pandas metadata in the schema); a CSV gets them from
``pd.read_csv(path, dtype=dtypes(what))``.

Embeddings are wide in both formats, one ``float32`` column per dimension
(``dim_000`` ...): the same columns in CSV and Parquet, and a frame a statistician can
use without unpacking a list column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .names import WHATS
from .spreadsheet import neutralised

# the trend classes in the order of p_improved, p_same, p_deteriorated (the same order
# as core.learning.method_info.TRENDS; a test holds them together)
TREND_CALLS = ("improved", "same", "deteriorated")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # the pandas dtype it opens with
    meaning: str


VERSION = Column("version", "int64", "the version's number (as on the Training page)")
IMAGE_ID = Column("image_id", "int64", "the image's id in the study: joins the exports")
PATIENT = Column(
    "patient",
    "str",
    "pseudonymous patient id (a salted hash); empty when the image has no patient",
)
DATASET = Column("dataset", "str", "the dataset's name")
SPLIT = Column("split", "str", "train, val or test: fixed when the image was imported")


def _visit_date(name: str, which: str) -> Column:
    return Column(
        name,
        "str",
        f"{which} date as ISO text (YYYY-MM-DD); a DICOM header's date is shifted per "
        "patient at import; empty when unknown",
    )


SCORES = (
    VERSION,
    IMAGE_ID,
    PATIENT,
    _visit_date("visit_date", "the visit's"),
    Column("visit_index", "Int64", "the visit's order for its patient; empty when unknown"),
    DATASET,
    SPLIT,
    Column("grade", "Int64", "the grade where known (0 = normal); empty otherwise"),
    Column(
        "severity",
        "float64",
        "the version's severity score, rising with severity (for most methods the cosine "
        "distance from its normality anchor); on that version's own scale",
    ),
    Column(
        "severity_std",
        "float64",
        "its spread: standard deviation over the image's four flips; empty (NaN) where "
        "the version stored none",
    ),
)
TRENDS = (
    VERSION,
    PATIENT,
    Column("earlier_image_id", "int64", "the earlier visit's image"),
    Column("later_image_id", "int64", "the next visit's image of the same patient"),
    _visit_date("earlier_visit_date", "the earlier visit's"),
    _visit_date("later_visit_date", "the later visit's"),
    DATASET,
    Column(
        "split",
        "str",
        "the patient's split; train: the trend caller was fitted on this patient's "
        "visits, so the call is not a test",
    ),
    Column("p_improved", "float64", "probability that severity fell between the visits"),
    Column("p_same", "float64", "probability that it stayed the same"),
    Column("p_deteriorated", "float64", "probability that it rose"),
    Column("call", "str", "the most probable of improved, same, deteriorated"),
)
PROJECTIONS = (
    VERSION,
    Column("method", "str", "umap, tsne or pca"),
    Column("dims", "int64", "2 or 3"),
    IMAGE_ID,
    Column("x", "float64", "first coordinate"),
    Column("y", "float64", "second coordinate"),
    Column("z", "float64", "third coordinate; empty (NaN) in a 2-D projection"),
)

# The judgments export (core.exports.judgments): every row ever written, in id order.
JUDGMENTS = (
    Column("id", "int64", "the row's id: later rows have higher ids"),
    Column("rater", "str", "the rater's name as signed in"),
    Column("left_image_id", "int64", "the image shown on the left"),
    Column("right_image_id", "int64", "the image shown on the right"),
    Column("outcome", "str", "left, right or equal (more severe), skip, or undone"),
    Column("created_at", "str", "when it was stored: ISO time in UTC"),
    Column("response_ms", "Int64", "milliseconds from the pair appearing to the answer"),
    Column("strategy", "str", "how the pair was chosen: active, random, repeat, undo, ..."),
    Column("comment", "str", "the rater's comment; empty when none"),
    Column("supersedes", "Int64", "the row this undo or correction replaces; empty if none"),
    Column("repeat_of", "Int64", "for a repeat pair, the answer it repeats; empty otherwise"),
    Column(
        "blinding",
        "str",
        "what the rater could see under the images (the study lead's setting when the pair "
        "was served): none_shown, dates, or dates_and_grades; empty when not recorded "
        "(answers stored before it was, and undo rows)",
    ),
)


def embedding_columns(dims: int) -> tuple[Column, ...]:
    width = len(str(max(dims - 1, 0)))
    return (
        VERSION,
        IMAGE_ID,
        *(
            Column(f"dim_{k:0{width}d}", "float32", f"dimension {k} of the latent map's vector")
            for k in range(dims)
        ),
    )


def columns_of(what: str, dims: int | None = None) -> tuple[Column, ...]:
    """The columns of export ``what``; embeddings need their number of dimensions."""
    if what == "embeddings":
        if dims is None:
            raise ValueError("the embeddings' columns depend on their dimension")
        return embedding_columns(dims)
    tables = {"scores": SCORES, "trends": TRENDS, "projections": PROJECTIONS}
    if what not in tables:
        raise ValueError(f"Unknown export {what!r}; expected one of {', '.join(WHATS)}.")
    return tables[what]


def dtypes(what: str, dims: int | None = None) -> dict[str, str]:
    """Column name -> pandas dtype, as ``pd.read_csv(..., dtype=...)`` takes it."""
    return {column.name: column.dtype for column in columns_of(what, dims)}


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    """The Arrow schema of ``columns``, with the pandas metadata that makes
    ``pd.read_parquet`` restore each documented dtype (``Int64`` with its gaps)."""
    empty = pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in columns})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def record_batch(
    what: str,
    source_columns: Sequence[str],
    rows: list[tuple],
    version: int,
    columns: Sequence[Column],
    schema: pa.Schema,
) -> pa.RecordBatch:
    """One batch of the store's rows (``source_columns`` order) as the export's columns,
    text made spreadsheet-safe."""
    raw: dict[str, Sequence[Any]] = dict(zip(source_columns, zip(*rows, strict=True), strict=True))
    values: dict[str, Any] = {"version": np.full(len(rows), version, dtype=np.int64)}
    if what == "embeddings":
        values["image_id"] = raw["image_id"]
        vectors = _vectors(raw["vector"], len(columns) - 2)
        values |= {column.name: vectors[k] for k, column in enumerate(columns[2:])}
    else:
        values |= raw
    if what == "trends":
        values["call"] = _calls(raw)
    arrays = []
    for column, field in zip(columns, schema, strict=True):
        data = values[column.name]
        if column.dtype == "str":
            data = neutralised(data)
        elif not isinstance(data, np.ndarray):
            data = list(data)
        arrays.append(pa.array(data, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _vectors(blobs: Sequence[bytes], dims: int) -> np.ndarray:
    """The float32 vectors of a batch, one contiguous row per dimension."""
    flat = np.frombuffer(b"".join(bytes(blob) for blob in blobs), dtype=np.float32)
    if flat.size != len(blobs) * dims:
        raise ValueError(
            f"The stored embeddings do not all have {dims} dimensions; the version's "
            "embed job must be run again."
        )
    return np.ascontiguousarray(flat.reshape(len(blobs), dims).T)


def _calls(raw: dict[str, Sequence[Any]]) -> list[str]:
    probabilities = np.array([raw["p_improved"], raw["p_same"], raw["p_deteriorated"]])
    return [TREND_CALLS[k] for k in probabilities.argmax(0)]
