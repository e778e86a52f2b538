"""Compare page: which of two images shows more severe disease?"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime

import streamlit as st

from core.raters import pick_repeat, repeat_share, wants_repeat
from core.selection.state import belief_lookup, catch_up
from core.store import AlreadyJudged, Answer, NotFound, StoreBusy
from core.strategies import DEFAULT_STRATEGY, STRATEGIES, Scope, candidates_for, present
from core.worker.autoretrain import cold_start_needs
from pages.common import display_image, open_store, signed_in_user

ANSWERS = [  # (outcome, label, keyboard shortcut)
    ("left", "Left more severe", "Left"),
    ("right", "Right more severe", "Right"),
    ("equal", "Equal", "E"),
    ("skip", "Can't tell (skip)", "S"),
]
PAIR_CHOICE = {  # label -> strategy name
    "Most informative (active)": "active",
    "Random": "random",
}

store = open_store()
st.title("Compare")
user = signed_in_user(store)
if user is None:
    st.info("Sign in (in the sidebar) to start judging pairs.")
    st.stop()
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
if state.get("scope") != scope:
    state.scope, state.pair = scope, None


@st.cache_data(ttl=30, show_spinner=False)
def _candidates(db_path: str, scope: Scope) -> list[int]:
    from core.store import Store

    with Store(db_path) as fresh:
        return candidates_for(fresh, scope)


def _new_pair(shown: tuple[int, int] | None = None) -> None:
    """Put the next pair (or ``shown``, after an undo) on screen: now and then, unannounced,
    a pair this rater answered a while ago, sides swapped (their self-consistency)."""
    repeat = None
    if shown is None and wants_repeat(state.rng, repeat_share(store)):
        repeat = pick_repeat(store, rater_id, set(_candidates(store.path, scope)))
        shown = None if repeat is None else (repeat.left, repeat.right)
    if shown is None:
        beliefs = None
        if strategy.needs_beliefs and scope.dataset_id is not None:
            catch_up(store, scope.dataset_id)  # the answers given since, by anyone
            beliefs = belief_lookup(store)
        pair = strategy.next_pair(
            _candidates(store.path, scope),
            lambda a, b: store.judgments.has_standing(rater_id, a, b),
            state.rng,
            taken=store.screens.taken(except_rater=rater_id),
            beliefs=beliefs,
        )
        shown = present(pair, state.rng) if pair else None
    if shown is not None:
        store.screens.show(rater_id, *shown)  # no other rater is served it meanwhile
    state.pair = (
        None
        if shown is None
        else {
            "left": shown[0],
            "right": shown[1],
            "token": uuid.uuid4().hex,
            "shown_at": time.monotonic(),
            "repeat_of": None if repeat is None else repeat.repeat_of,
        }
    )


def _answer(outcome: str) -> None:
    pair = state.get("pair")
    if not pair:
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
        _with_retry(lambda: store.judgments.append(answer))
    except AlreadyJudged as exc:
        state.notice = str(exc)
    except StoreBusy as exc:
        state.notice = str(exc)
        return  # keep the same pair on screen: nothing was stored, nothing is lost
    _new_pair()


def _undo() -> None:
    try:
        retracted = _with_retry(lambda: store.judgments.undo_last(rater_id, uuid.uuid4().hex))
    except StoreBusy as exc:
        state.notice = str(exc)
        return
    if retracted is None:
        state.notice = "There is nothing to undo."
        return
    state.notice = "Your last answer was withdrawn; here is that pair again."
    _new_pair((retracted["left_image_id"], retracted["right_image_id"]))


def _with_retry(action, attempts: int = 3):
    for attempt in range(attempts):
        try:
            return action()
        except StoreBusy:
            if attempt == attempts - 1:
                raise
            time.sleep(0.3 * (attempt + 1))


if state.get("pair") is None:
    _new_pair()

progress = store.judgments.progress(rater_id, state.session_started)
st.caption(
    f"Judged today: {progress['today']} · in total: {progress['total']} · "
    f"this session: {progress['session']}"
)
if notice := state.pop("notice", None):
    st.info(notice)
if scope.dataset_id is not None and store.models.active(scope.dataset_id) is None:
    needs = cold_start_needs(store, scope.dataset_id)
    if needs and any(needs.values()):  # a dataset without grades: the answers come first
        missing = [
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

for _attempt in range(5):  # a pair whose image vanished from disk is skipped, not fatal
    pair = state.get("pair")
    if pair is None:
        break
    try:
        images = {side: store.images.get(pair[side]) for side in ("left", "right")}
        pictures = {
            side: display_image(store.media_path(images[side]["pixel_path"]), zoom, contrast)
            for side in images
        }
        break
    except (FileNotFoundError, NotFound, OSError):
        st.warning("One image of the pair is missing from disk; that pair was skipped.")
        _new_pair()
else:
    pair = None

if pair is None:
    st.success("No pairs left to judge in this scope. Choose another scope in the sidebar.")
    st.stop()

st.markdown("#### Which image shows **more severe** disease?")
left_column, right_column = st.columns(2)
for column, side in ((left_column, "left"), (right_column, "right")):
    with column:
        st.image(pictures[side], width="stretch")
        if show_details:
            row = images[side]
            st.caption(
                f"#{row['id']} · {row['dataset']} · grade {row['grade']} · "
                f"{row['patient'] or 'no patient'} · {row['visit_date'] or 'no date'}"
            )

buttons = st.columns(len(ANSWERS) + 1)
for column, (outcome, label, key) in zip(buttons, ANSWERS, strict=False):
    column.button(
        f"{label} ({key})",
        key=f"answer_{outcome}",
        shortcut=key,
        on_click=_answer,
        args=(outcome,),
        width="stretch",
        type="primary" if outcome in ("left", "right") else "secondary",
    )
buttons[-1].button("Undo (U)", key="undo", shortcut="U", on_click=_undo, width="stretch")
