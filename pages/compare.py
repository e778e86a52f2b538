"""Compare page: which of two images shows more severe disease?

Only the pair and its buttons rerun after an answer (``st.fragment``). Each image is sent
as its stored file (the same bytes give the same URL, so the browser's cache serves an
image it has seen), scaled by the browser, zoom and contrast applied in CSS. The next
pair is chosen, and its images sent hidden, after the current pair is on screen. Each
answer carries the token of the pair it was drawn with (the button's arguments), so an
answer is stored once, against that pair, or refused with a notice when that pair has
already gone (the pair on screen then stays).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from core.selection.serve import next_pair
from core.selection.strategies import DEFAULT_STRATEGY, STRATEGIES, Scope, candidates_for
from core.store import AlreadyJudged, Answer, NotFound, StoreBusy
from core.worker.autoretrain import cold_start_needs
from pages.common import open_store, signed_in_or_stop

ANSWERS = [  # (outcome, label, keyboard shortcut)
    ("left", "Left more severe", "Left"),
    ("right", "Right more severe", "Right"),
    ("equal", "Equal", "E"),
    ("skip", "Can't tell (skip)", "S"),
]
IMAGE_WIDTH = 460  # pixels on screen per image; the browser scales the stored file
PAIR_CHOICE = {  # label -> strategy name
    "Most informative (active)": "active",
    "Random": "random",
}

store = open_store()
st.title("Compare")
user = signed_in_or_stop(store, "start judging pairs")
rater_id = user.rater_id
state = st.session_state
state.setdefault("session_started", datetime.now(UTC).isoformat(timespec="milliseconds"))
state.setdefault("rng", random.Random())

with st.sidebar:
    datasets = {d["name"]: d["id"] for d in store.datasets.list()}
    dataset = st.selectbox("Images from", list(datasets) or ["(no data)"])
    mode = st.radio("Scope", ["All images", "Abnormal only", "One patient's visits"])
    labels = list(PAIR_CHOICE)
    choice = st.radio(
        "Pair choice",
        labels,
        index=list(PAIR_CHOICE.values()).index(DEFAULT_STRATEGY),
        help="Most informative: pairs the model cannot yet order, chosen from its current "
        "beliefs about every image and updated after each answer (with a share of random "
        "pairs). Random: any two images of the scope.",
    )
    patient_id = None
    if mode == "One patient's visits":
        patients = {p["pseudonym"]: p["id"] for p in store.patients.list(datasets.get(dataset))}
        chosen = st.selectbox("Patient", list(patients) or ["(none)"])
        patient_id = patients.get(chosen)
    zoom = st.slider("Zoom", 1.0, 4.0, 1.0, 0.25)
    contrast = st.slider("Contrast", 0.5, 2.5, 1.0, 0.1)
    show_details = st.toggle(
        "Show dates and details",
        value=False,
        help="Hidden by default so that judgments stay blinded.",
    )

scope = Scope(datasets.get(dataset), mode == "Abnormal only", patient_id)
strategy = STRATEGIES[PAIR_CHOICE[choice]]
if state.get("scope") != (scope, strategy.name):  # another scope: pairs chosen afresh
    state.scope, state.pair, state.upcoming = (scope, strategy.name), None, None


@st.cache_data(ttl=30, show_spinner=False)
def _candidates(db_path: str, scope: Scope) -> list[int]:
    from core.store import Store

    with Store(db_path) as fresh:
        return candidates_for(fresh, scope)


def _still_free(pair: dict) -> bool:
    """Whether a pair chosen in advance can still be served to this rater."""
    if not pair.get("repeat_of") and store.judgments.has_standing(
        rater_id, pair["left"], pair["right"]
    ):
        return False
    return frozenset((pair["left"], pair["right"])) not in store.screens.taken(
        except_rater=rater_id
    )


def _choose(exclude: tuple[int, int] | None = None) -> dict | None:
    """The pair to show after ``exclude`` (the one on screen), from the pair server."""
    served = next_pair(
        store,
        rater_id,
        strategy,
        _candidates(store.path, scope),
        state.rng,
        scope.dataset_id,
        exclude,
    )
    if served is None:
        return None
    return {"left": served.left, "right": served.right, "repeat_of": served.repeat_of}


def _new_pair(shown: tuple[int, int] | None = None) -> None:
    """Put the next pair (the one prepared in advance when it is still free, or
    ``shown`` after an undo) on screen."""
    if shown is not None:
        chosen = {"left": shown[0], "right": shown[1], "repeat_of": None}
    else:
        upcoming = state.pop("upcoming", None)
        chosen = upcoming if upcoming and _still_free(upcoming) else _choose()
    state.upcoming = None
    if chosen is not None:
        store.screens.show(rater_id, chosen["left"], chosen["right"])  # no other rater gets it
        chosen = {**chosen, "token": uuid.uuid4().hex, "shown_at": time.monotonic()}
    state.pair = chosen


def _answer(outcome: str, token: str) -> None:
    pair = state.get("pair")
    if not pair or pair["token"] != token:
        state.notice = "That key press came after the pair had changed; it was not counted."
        return
    answer = Answer(
        pair["left"],
        pair["right"],
        outcome,
        rater_id,
        response_ms=int(1000 * (time.monotonic() - pair["shown_at"])),
        strategy="repeat" if pair.get("repeat_of") else strategy.name,
        request_token=pair["token"],
        repeat_of=pair.get("repeat_of"),
    )
    try:
        store.retrying(lambda: store.judgments.append(answer))
    except AlreadyJudged as exc:
        state.notice = str(exc)  # answered in another tab: nothing new to store
    except StoreBusy as exc:
        state.notice = str(exc)
        return  # keep the same pair on screen: nothing was stored, nothing is lost
    _new_pair()


def _undo() -> None:
    try:
        retracted = store.retrying(lambda: store.judgments.undo_last(rater_id, uuid.uuid4().hex))
    except StoreBusy as exc:
        state.notice = str(exc)
        return
    if retracted is None:
        state.notice = "There is nothing to undo."
        return
    state.notice = "Your last answer was withdrawn; here is that pair again."
    _new_pair((retracted["left_image_id"], retracted["right_image_id"]))


def _image_path(image_id: int) -> tuple[Path, dict]:
    row = store.images.get(image_id)
    path = store.media_path(row["pixel_path"])
    if not path.is_file():
        raise FileNotFoundError(path)
    return path, row


def _style(zoom: float, contrast: float, small: bool) -> None:
    """Zoom and contrast in the browser; small images scaled without smoothing."""
    st.html(
        f"""<style>
        .st-key-pair [data-testid="stImage"] {{ overflow: hidden; margin-right: 12px; }}
        .st-key-pair [data-testid="stImage"] img {{
            transform: scale({zoom}); filter: contrast({contrast});
            image-rendering: {"pixelated" if small else "auto"};
        }}
        .st-key-prefetch {{ display: none; }}
        </style>"""
    )


def _cold_start_note() -> None:
    if scope.dataset_id is None or store.models.active(scope.dataset_id) is not None:
        return
    needs = cold_start_needs(store, scope.dataset_id)
    if not needs or not any(needs.values()):
        return
    missing = [  # a dataset without grades: the answers come first
        f"{n} more {'image' if n == 1 else 'images'} marked normal (on the Data page)"
        if what == "normals"
        else f"{n} more {'answer' if n == 1 else 'answers'} about training images"
        if what == "answers"
        else "validation images"
        for what, n in needs.items()
        if n
    ]
    st.info(
        f"{dataset} has no grades and no model yet: your answers are kept and its "
        f"first model trains by itself once it has {' and '.join(missing)}.",
        icon=":material/school:",
    )


@st.fragment
def judging() -> None:
    """The pair, its buttons and the progress line: all that reruns after an answer."""
    if state.get("pair") is None:
        _new_pair()
    progress = store.judgments.progress(rater_id, state.session_started)
    st.caption(
        f"Judged today: {progress['today']} · in total: {progress['total']} · "
        f"this session: {progress['session']}"
    )
    if notice := state.pop("notice", None):
        st.info(notice)
    _cold_start_note()
    for _attempt in range(5):  # a pair whose image vanished from disk is skipped, not fatal
        pair = state.get("pair")
        if pair is None:
            break
        try:
            shown = {side: _image_path(pair[side]) for side in ("left", "right")}
            break
        except (FileNotFoundError, NotFound, OSError):
            st.warning("One image of the pair is missing from disk; that pair was skipped.")
            _new_pair()
    else:
        pair = None
    if pair is None:
        st.success("No pairs left to judge in this scope. Choose another scope in the sidebar.")
        return

    _style(zoom, contrast, small=max(row["width"] for _, row in shown.values()) < 128)
    st.markdown("#### Which image shows **more severe** disease?")
    details = [
        f"#{row['id']} · {row['dataset']} · grade {row['grade']} · "
        f"{row['patient'] or 'no patient'} · {row['visit_date'] or 'no date'}"
        for _, row in shown.values()
    ]
    with st.container(key="pair"):  # one element for both: they change together, at once
        st.image(
            [str(shown[side][0]) for side in ("left", "right")],
            caption=details if show_details else None,
            width=IMAGE_WIDTH,
            output_format="PNG",  # lossless: Streamlit would send a small image as JPEG
        )
    buttons = st.columns(len(ANSWERS) + 1)
    for column, (outcome, label, key) in zip(buttons, ANSWERS, strict=False):
        column.button(
            f"{label} ({key})",
            key=f"answer_{outcome}",
            shortcut=key,
            on_click=_answer,
            args=(outcome, pair["token"]),
            width="stretch",
            type="primary" if outcome in ("left", "right") else "secondary",
        )
    buttons[-1].button("Undo (U)", key="undo", shortcut="U", on_click=_undo, width="stretch")

    # while the rater looks: choose the next pair and send its images, hidden
    if state.get("upcoming") is None:
        state.upcoming = _choose(exclude=(pair["left"], pair["right"]))
    upcoming = state.upcoming
    if upcoming is not None:
        with st.container(key="prefetch"):
            for side in ("left", "right"):
                try:
                    st.image(str(_image_path(upcoming[side])[0]), output_format="PNG")
                except (FileNotFoundError, NotFound, OSError):
                    state.upcoming = None  # chosen again, checked again, when it is needed


judging()
