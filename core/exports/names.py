"""The names the command line offers, in a module that loads nothing heavy (pandas and
pyarrow load only when an export runs, so that ``python -m core`` starts fast)."""

WHATS = ("scores", "embeddings", "trends", "projections")
FORMATS = ("csv", "parquet")
BATCH_ROWS = 10_000  # rows read and written at a time: 512-d embeddings take ~40 MB
