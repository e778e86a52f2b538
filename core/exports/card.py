"""A model card per version, in Markdown: method and recipe, lineage, data, the answers
it learned from, validation figures (the comparison with the version it was to replace,
with its interval), held-out trend figures, activation history, intended use and known
limitations. Every figure comes from the database (``card_facts``), never typed in.
``python -m core model-card``, the Training page and ``export-model`` write it."""

from __future__ import annotations

import statistics
from typing import Any

from core.store import Store

from .card_facts import HELD_BACK, CardFacts, gather_facts, is_synthetic
from .metric_labels import METRICS

# vs_active_* keys the comparison's sentence already states
COMPARISON_STATED = {"version", "low", "high", "patients", "answers"}


def model_card(store: Store, version: int) -> str:
    return render_card(gather_facts(store, version))


def model_card_bytes(location: str, version: int) -> bytes:
    """The card as UTF-8 bytes through a connection of its own (a download button
    builds it on another thread)."""
    with Store(location) as store:
        return model_card(store, version).encode()


def render_card(facts: CardFacts) -> str:
    sections = (
        _header(facts),
        _recipe(facts),
        _data(facts),
        _answers(facts),
        _validation(facts),
        _trend_figures(facts),
        _history(facts),
        _use_and_limitations(facts),
    )
    return "\n\n".join(sections) + "\n"


# -- sections ----------------------------------------------------------------------------


def _header(facts: CardFacts) -> str:
    model = facts.model
    trained = (
        f"warm, continued from version {facts.parent_version}"
        if model["kind"] == "warm"
        else "from scratch"
    )
    rows = [
        ("Method", model["method"]),
        ("Serves", _text(model["dataset"] or "every dataset without a version of its own")),
        ("Trained", trained),
        ("Status", model["status"]),
        ("Created", model["created_at"]),
        ("Answers up to", f"judgment #{model['trained_through_judgment_id']}"),
        ("Training job", f"#{model['job_id']}" if model["job_id"] else "none recorded"),
    ]
    return "\n".join(
        [
            f"# Model card: version {model['version']}",
            "",
            f"Built from the study database at {facts.built_at} (UTC); every figure below "
            "is read from it.",
            "",
            _table(("", ""), rows),
        ]
    )


def _recipe(facts: CardFacts) -> str:
    rows = list(_flatten(facts.model["config"]))
    return "\n".join(
        [
            "## Method and recipe",
            "",
            f"Method `{facts.model['method']}`, trained with the configuration stored with "
            "the version:",
            "",
            _table(("setting", "value"), rows) if rows else "No configuration was stored.",
        ]
    )


def _data(facts: CardFacts) -> str:
    names = ", ".join(_text(d["name"]) for d in facts.datasets) or "none"
    where = (
        "Images the version scored"
        if facts.images_scored
        else "It has scored no image yet; the images of its data as they are now"
    )
    return "\n".join(
        [
            "## Data",
            "",
            f"Datasets: {names}.",
            "",
            f"{where}, by grade and split:",
            "",
            _split_grade_table(facts.images),
        ]
    )


def _answers(facts: CardFacts) -> str:
    model = facts.model
    scope = model["dataset"] or "any dataset"
    total = sum(r["answers"] for r in facts.answers)
    lines = ["## Answers used", ""]
    if total == 0:
        lines.append(f"No expert answer about {_text(scope)} stood when it was trained.")
    else:
        repeats = sum(r["repeats"] for r in facts.answers)
        ties = sum(r["ties"] for r in facts.answers)
        training = sum(r["both_train"] for r in facts.answers)
        per_rater = _per_rater([r["answers"] for r in facts.answers])
        lines += [
            f"Standing answers up to judgment #{model['trained_through_judgment_id']} about "
            f"two images of {_text(scope)}: **{total}**, from **{len(facts.answers)}** "
            f"raters (answers per rater: {per_rater}).",
            "",
            f"- repeats (a pair shown again to the same rater): {repeats} ({repeats / total:.1%})",
            f'- ties (answered "equal"): {ties} ({ties / total:.1%})',
            f"- about two training-split images, what training learns from: {training}; the "
            f"other {total - training} are held out for validation and test",
        ]
    metrics = model["metrics"]
    if "n_judgments_trained_on" in metrics:
        lines += [
            "",
            f"The training recorded {_figure(metrics['n_judgments_trained_on'])} answers used "
            f"of {_figure(metrics.get('n_judgments_standing', '?'))} standing at the time.",
        ]
    return "\n".join(lines)


def _validation(facts: CardFacts) -> str:
    metrics = facts.model["metrics"]
    lines = ["## Validation metrics", ""]
    if "evaluated_on" in metrics:
        lines += [f"Measured on the {metrics['evaluated_on']} split.", ""]
    known = [
        (METRICS[key][0], _figure(metrics[key]), METRICS[key][1])
        for key in METRICS
        if key in metrics and not key.startswith("trend_")
    ]
    per_dataset = [
        (f"{key.split('@', 1)[1]}: {key.split('@', 1)[0]}", _figure(value), "")
        for key, value in sorted(metrics.items())
        if "@" in key
    ]
    others = [
        (key, _figure(value), "")
        for key, value in sorted(metrics.items())
        if key not in METRICS and "@" not in key and _is_other_figure(key, value)
    ]
    rows = known + per_dataset + others
    lines.append(
        _table(("figure", "value", "what it measures"), rows) if rows else "No figure stored."
    )
    lines += ["", "### Against the version it was to replace", "", _comparison(metrics)]
    return "\n".join(lines)


def _comparison(metrics: dict) -> str:
    if "vs_active" not in metrics:
        return "No comparison with an active version is recorded for it."
    sentence = (
        f"Compared before activation with the then active version "
        f"{metrics['vs_active_version']} on the same validation images: new minus active "
        f"**{metrics['vs_active']:+.3f}**, 95% interval [{metrics['vs_active_low']:+.3f}, "
        f"{metrics['vs_active_high']:+.3f}] over {metrics.get('vs_active_patients', '?')} "
        f"patients and {metrics.get('vs_active_answers', '?')} held-out answers."
    )
    figures = [
        (key.removeprefix("vs_active_"), _figure(value))
        for key, value in sorted(metrics.items())
        if key.startswith("vs_active_") and key.removeprefix("vs_active_") not in COMPARISON_STATED
    ]
    if not figures:
        return sentence
    return sentence + "\n\n" + _table(("figure (new minus active)", "value"), figures)


def _trend_figures(facts: CardFacts) -> str:
    metrics = facts.model["metrics"]
    rows = [
        (METRICS[key][0] if key in METRICS else key, _figure(value))
        for key, value in metrics.items()
        if key.startswith("trend_test")
    ]
    lines = ["## Held-out trend figures", ""]
    lines.append(f"{facts.trend_calls} trend calls between consecutive visits are stored.")
    lines.append("")
    if rows:
        lines += [
            "The trend caller is fitted on training-split patients; these figures are on "
            "the test-split patients, whom it never saw:",
            "",
            _table(("figure", "value"), rows),
        ]
    else:
        lines.append("No held-out trend figure is stored for this version.")
    return "\n".join(lines)


def _history(facts: CardFacts) -> str:
    model = facts.model
    lines = ["## Activation history", "", f"- created {model['created_at']}"]
    for event in facts.activations:
        line = f"- activated {event.at}"
        if event.replaced_by is not None:
            line += f"; replaced by version {event.replaced_by} at {event.replaced_at}"
        lines.append(line)
    if not facts.activations:
        lines.append("- never activated")
    if model["metrics"].get(HELD_BACK):
        lines.append(f"- held back: {_text(model['metrics'][HELD_BACK])}")
    if model["status"] == "failed" or model["chain"] == "failed":
        lines.append(f"- failed: {_text(model['error'] or 'no reason recorded')}")
    return "\n".join(lines)


def _use_and_limitations(facts: CardFacts) -> str:
    model, config = facts.model, facts.model["config"]
    names = ", ".join(_text(d["name"]) for d in facts.datasets) or "its study"
    limits = []
    if "image_size" in config:
        size = config["image_size"]
        limits.append(
            f"Trained on {size}-pixel images: every image is resized to {size}×{size} "
            "pixels before it is scored; finer detail is not seen."
        )
    for dataset in facts.datasets:
        if is_synthetic(dataset):
            limits.append(
                f"The synthetic cohort ({_text(dataset['name'])}) is not clinical data: its "
                "images are rendered by a program, and figures measured on it say nothing "
                "about real patients."
            )
    if all(row["grade"] is None for row in facts.images):
        limits.append("No image of its data has a grade: no figure against grades exists.")
    if not facts.answers:
        limits.append("No expert answer was available: it learned from grades alone.")
    limits.append(
        "Its severity scores are on its own scale (for most methods a distance from its "
        "own normality anchor): scores of different versions are not comparable."
    )
    scope = f"the {_text(model['dataset'])} dataset" if model["dataset"] else names
    return "\n".join(
        [
            "## Intended use",
            "",
            f"Research on {scope}: ordering its images by severity, following patients' "
            "trends between visits, and choosing which pairs experts compare next. It is "
            "not a medical device and was not validated for clinical decisions.",
            "",
            "## Known limitations",
            "",
            *(f"- {limit}" for limit in limits),
        ]
    )


# -- formatting ----------------------------------------------------------------------------


def _split_grade_table(rows: list[dict]) -> str:
    counts: dict[tuple[str, Any], int] = {(r["split"], r["grade"]): r["n"] for r in rows}
    splits = [s for s in ("train", "val", "test") if any(k[0] == s for k in counts)]
    grades = sorted({k[1] for k in counts}, key=lambda g: (g is None, g or 0))
    table = [
        (
            "ungraded" if grade is None else str(grade),
            *(str(counts.get((split, grade), 0)) for split in splits),
            str(sum(counts.get((split, grade), 0) for split in splits)),
        )
        for grade in grades
    ]
    totals = [sum(counts.get((split, g), 0) for g in grades) for split in splits]
    table.append(("all", *(str(t) for t in totals), str(sum(totals))))
    return _table(("grade", *splits, "total"), table)


def _per_rater(counts: list[int]) -> str:
    """Each rater's count, most first; past a dozen raters, their range and median."""
    if len(counts) <= 12:
        return ", ".join(str(n) for n in counts)
    return f"{min(counts)} to {max(counts)}, median {statistics.median(counts):g}"


def _flatten(config: dict, prefix: str = ""):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield (f"{prefix}{key}", _text(str(value)) if value is not None else "none")


def _is_other_figure(key: str, value: object) -> bool:
    skipped = key == HELD_BACK or key == "evaluated_on" or key.startswith(("vs_active", "trend_"))
    return not skipped and isinstance(value, int | float)


def _figure(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if value == 0 or 1e-3 <= abs(value) < 1e4 else f"{value:.3g}"
    return _text(str(value))


def _text(value: str) -> str:
    """Text from the database, shown as text in a Markdown table or line."""
    return value.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _table(header: tuple[str, ...], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
