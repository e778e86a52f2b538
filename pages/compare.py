"""Compare page: which of two images shows more severe disease?

The judging view (``pages/compare_queue``) keeps a queue of prepared pairs in the
browser: a key press shows the next pair at once and the answer goes to the server in
the background, with its pair's token, and stays marked "not yet saved" (kept in the
browser's storage) until the server has stored it. This page hands the browser's
exchanges to ``core.selection.queue`` and mounts the view.

The classic view below stays as the fallback when the judging view cannot load (or
when the rater asks for it): only the pair and its buttons rerun after an answer
(``st.fragment``), each image sent as its stored file and scaled by the browser, the
next pair chosen and sent hidden while the rater looks. Each answer carries the token
of the pair it was drawn with (the button's arguments), so an answer is stored once,
against that pair, or refused with a notice when that pair has already gone.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from core.selection.queue import QUEUE_SIZE, PairTokens, Rating
from core.selection.serve import next_pair
from core.selection.strategies import DEFAULT_STRATEGY, STRATEGIES, Scope, candidates_for
from core.store import (
    AlreadyJudged,
    Answer,
    DatabaseUnavailable,
    NotFound,
    StorageFull,
    StoreBusy,
)
from core.store.blinding import NOTHING_SHOWN, rater_blinding, shows_grades, stricter
from core.worker.autoretrain import cold_start_needs
from pages import compare_queue
from pages.common import open_store, signed_in_or_stop
from pages.compare_queue import overlays

ANSWERS = [  # (outcome, label, keyboard shortcut)
    ("left", "Left more severe", "Left"),
    ("right", "Right more severe", "Right"),
    ("equal", "Equal", "E"),
    ("skip", "Can't tell (skip)", "S"),
]
IMAGE_WIDTH = 460  # pixels on screen per image; the browser scales the stored file
PAIR_CHOICE = {  # label -> strategy name (the default: DEFAULT_STRATEGY)
    "Random": "random",
    "Most informative (active)": "active",
}
VIEW_GRACE_S = 15.0  # a judging view silent this long after mounting did not load
DETAILS_TOGGLE = {  # what the study lets raters see -> the toggle's label
    False: "Show dates and details",
    True: "Show dates, details and grades",
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
    if store.attributions.shown_on_compare():  # a study lead's teaching choice
        st.slider("Map opacity", 0.0, 1.0, overlays.HEAT_OPACITY, 0.05, key="heat_opacity")
    blinding = rater_blinding(store)  # the study lead's decision: raters cannot show more
    show_details = blinding != NOTHING_SHOWN and st.toggle(
        DETAILS_TOGGLE[shows_grades(blinding)],
        value=False,
        key="show_details",
        help="Hidden by default so that judgments stay blinded; the study lead decides "
        "what may be shown, and each answer records it.",
    )
    classic = st.toggle(
        "Classic buttons",
        key="classic",
        help="Answers through the server's buttons, each waiting for a round trip. Used by "
        "itself when the judging view cannot load in this browser.",
    )

scope = Scope(datasets.get(dataset), mode == "Abnormal only", patient_id)
strategy = STRATEGIES[PAIR_CHOICE[choice]]
if state.get("scope") != (scope, strategy.name):  # another scope: pairs chosen afresh
    state.scope, state.pair, state.upcoming = (scope, strategy.name), None, None
    state.queue_reply, state.queue_captions = None, {}


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
    low, high = sorted((pair["left"], pair["right"]))
    return (low, high) not in store.screens.taken(except_rater=rater_id)


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
        chosen = {
            **chosen,
            "token": uuid.uuid4().hex,
            "shown_at": time.monotonic(),
            "blinding": rater_blinding(store),  # its answer records what could be seen
        }
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
        blinding=pair.get("blinding"),
    )
    try:
        store.retrying(lambda: store.judgments.append(answer))
    except AlreadyJudged as exc:
        state.notice = str(exc)  # answered in another tab: nothing new to store
    except (StoreBusy, DatabaseUnavailable, StorageFull) as exc:
        # the same pair stays on screen with its token: the next press resends it, and
        # an answer whose save did land meanwhile is not stored twice
        state.notice = f"Not saved, retrying: {exc} Press your answer again."
        return
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


def _teaching_note(heat_model: int | None) -> None:
    """Says plainly that the maps are shown (answers given now are not blinded)."""
    if heat_model is not None:
        st.warning(overlays.TEACHING_NOTE, icon=":material/school:")


def _heat_opacity(heat_model: int | None) -> float:
    return state.get("heat_opacity", overlays.HEAT_OPACITY) if heat_model is not None else 0.0


def _pictures(pair: dict, paths: list[Path], heat_model: int | None) -> list:
    """The pair's files as they are; with their maps drawn in while teaching shows them."""
    ids = [pair["left"], pair["right"]]
    maps = store.attributions.for_compare(heat_model, ids) if heat_model is not None else {}
    if not maps:
        return [str(path) for path in paths]
    scale, opacity = overlays.heat_scale(store.path, heat_model), _heat_opacity(heat_model)
    return [
        overlays.blended(path, maps[i], scale, opacity) if i in maps else str(path)
        for i, path in zip(ids, paths, strict=True)
    ]


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


def _progress_line() -> None:
    progress = store.judgments.progress(rater_id, state.session_started)
    st.caption(
        f"Judged today: {progress['today']} · in total: {progress['total']} · "
        f"this session: {progress['session']}"
    )


@st.fragment
def judging() -> None:
    """The pair, its buttons and the progress line: all that reruns after an answer."""
    if state.get("pair") is None:
        _new_pair()
    _progress_line()
    if notice := state.pop("notice", None):
        st.info(notice)
    _cold_start_note()
    heat_model = overlays.teaching_model(store, scope.dataset_id)  # None: no maps (default)
    _teaching_note(heat_model)
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
    # no more than the pair was served under, nor than the study allows now
    level = stricter(pair.get("blinding") or NOTHING_SHOWN, blinding)
    details = [compare_queue.caption(row, level) for _, row in shown.values()]
    with st.container(key="pair"):  # one element for both: they change together, at once
        st.image(
            _pictures(pair, [shown[side][0] for side in ("left", "right")], heat_model),
            caption=details if show_details and level != NOTHING_SHOWN else None,
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
        try:  # both files found before either is sent: never half a pair
            paths = [_image_path(upcoming[side])[0] for side in ("left", "right")]
        except (FileNotFoundError, NotFound, OSError):
            state.upcoming = None  # chosen again, checked again, when it is needed
        else:
            with st.container(key="prefetch"):
                for path in paths:
                    st.image(str(path), output_format="PNG")


def _received() -> None:
    """The browser sent an exchange: kept for the fragment run that follows."""
    state.queue_sent, state.queue_alive = compare_queue.received(), True


@st.fragment
def judging_queue() -> None:
    """The judging view, and the progress line: all that reruns after an exchange."""
    key = compare_queue.scope_key(scope, strategy.name)
    heat_model = overlays.teaching_model(store, scope.dataset_id)  # None: no maps (default)
    sent = state.pop("queue_sent", None)
    if sent is not None or state.get("queue_reply") is None:
        state.queue_reply = compare_queue.exchange(
            store,
            Rating(rater_id, scope.dataset_id, key),
            strategy,
            _candidates(store.path, scope),
            state.rng,
            sent,
            state.setdefault("queue_captions", {}),
            heat_model,
        )
    config = {
        "study": PairTokens(store).study_id,
        "dataset": scope.dataset_id,
        "rater": rater_id,
        "scope": key,
        "size": QUEUE_SIZE,
        "zoom": zoom,
        "contrast": contrast,
        "heat_opacity": _heat_opacity(heat_model),
        "details": compare_queue.details(state.queue_captions, blinding) if show_details else {},
    }
    _progress_line()  # after the exchange: it counts the answers just stored
    _cold_start_note()
    _teaching_note(heat_model)
    compare_queue.mount(config, state.queue_reply, _received)


@st.fragment(run_every=2)
def _watch_the_view() -> None:
    """Until the judging view has sent its first exchange: the classic buttons take
    over when it stays silent (its script did not load or run in this browser). Once it
    has spoken this does nothing (a rerun of the whole page to remove it would rebuild
    the view, and its queue, under the rater's fingers)."""
    if state.get("queue_alive"):
        return
    if time.monotonic() - state.setdefault("queue_mounted_at", time.monotonic()) > VIEW_GRACE_S:
        state.queue_failed = "the fast judging view did not start in this browser"
        st.rerun()


failed = compare_queue.UNAVAILABLE or state.get("queue_failed")
if classic or failed:
    if failed and not classic:
        st.warning(
            f"Classic buttons: {failed}. Each answer now waits for the server before the "
            "next pair shows.",
            icon=":material/speed:",
        )
    judging()
else:
    judging_queue()
    _watch_the_view()
