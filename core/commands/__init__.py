"""The command line, one module per group of commands, each with its parsers beside
their handlers (``add_parsers`` sets each command's ``handler``); ``core.cli`` only
dispatches.

- ``study``: import, demo, check, raters, migrate-db
- ``training``: train
- ``scoring``: score, export-model
- ``exports``: export, model-card
- ``experiments``: bench, trend-bench, sim-bench
- ``worker``: worker, jobs
"""
