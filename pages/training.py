from pages.common import not_built_yet

not_built_yet(
    "Training",
    "the background-worker issue",
    "list model versions and start, follow and cancel training jobs.",
)
