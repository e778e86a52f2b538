"""The floor every learned representation must beat: logistic regression on raw pixels,
on exactly the train / held-out test split that ``python -m core bench`` uses.

    .venv/bin/python -m benchmarks.pixel_floor
"""

from __future__ import annotations

import json
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core.experiments.datasets import load_benchmark_data
from core.learning.metrics import classification_metrics
from core.paths import RETINAMNIST_NPZ


def main() -> None:
    train, _val, test, test_source = load_benchmark_data(str(RETINAMNIST_NPZ), None, 28)
    results = {"test": test_source}
    for weighting in (None, "balanced"):
        model = make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000, C=0.01, class_weight=weighting)
        )
        model.fit(train.images.flatten(1).numpy(), train.grades)
        predicted = model.predict(test.images.flatten(1).numpy())
        results[f"class_weight={weighting}"] = {
            k: round(v, 3) for k, v in classification_metrics(test.grades, predicted).items()
        }
    print(json.dumps(results, indent=2))
    out = Path("docs/bench/pixel_floor.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
