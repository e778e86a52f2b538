"""The Compare page's judging view: a components-v2 element that holds a queue of
prepared pairs in the browser (``queue.js``) and exchanges answers and new pairs with
``core.selection.queue`` in the background. UI glue only: what is stored, and which
pairs come next, is decided in ``core``."""

from __future__ import annotations

import base64
import hashlib
import random
import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from core.selection.base import PairStrategy
from core.selection.queue import NOT_SAVED_YET, QueuedPair, Rating, Reply, sync
from core.store import Store
from core.store.blinding import BLINDINGS, NOTHING_SHOWN, shows_grades, stricter
from pages.compare_queue.overlays import heat_urls

HERE = Path(__file__).resolve().parent
KEY = "compare_queue"  # one stable key: the element keeps its identity as its data change
SMALL = 128  # images narrower than this are scaled up without smoothing

try:
    _MOUNT: Any = st.components.v2.component(
        "severity_studio.compare_queue",
        html="",
        css=(HERE / "queue.css").read_text(),
        js=(HERE / "outbox.js").read_text() + (HERE / "queue.js").read_text(),
    )
    UNAVAILABLE: str | None = None
except Exception as exc:  # an older Streamlit, or the files missing from an install
    _MOUNT = None
    UNAVAILABLE = f"the fast judging view could not be set up ({exc})"


def scope_key(*parts: object) -> str:
    """A short name for what the pairs are drawn from (changes clear the browser's queue)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


@st.cache_data(max_entries=4096, show_spinner=False)
def image_url(path: str, size: int) -> str:
    """A stored image as a data URL (``size``, the file's size, renews a changed file)."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def received() -> dict | None:
    """The exchange the browser sent with this run, if any."""
    value = st.session_state.get(KEY)
    sent = value.get("sync") if isinstance(value, dict) else None
    return sent if isinstance(sent, dict) else None


def reply_data(seq: str, reply: Reply, pairs: list[dict], again: dict | None) -> dict:
    """A reply as the browser reads it (``pairs`` and ``again`` already with images)."""
    return {
        "seq": seq,
        "acks": [{"id": a.event_id, "status": a.status} for a in reply.acks],
        "pairs": pairs,
        "again": again,
        "dropped": reply.dropped,
        "notices": reply.notices,
        "exhausted": reply.exhausted,
    }


def pair_data(
    pair: QueuedPair, images: dict[int, dict], media: Path, heat: dict[int, str] | None = None
) -> dict:
    """A pair as the browser holds it: token, answer id and both images inline, each
    with its attribution map (``heat``, a data URL) where teaching shows one.
    Raises ``FileNotFoundError`` when an image file is missing."""
    sides = {}
    for side, image_id in (("left", pair.left), ("right", pair.right)):
        path = media / images[image_id]["pixel_path"]
        sides[side] = {"id": image_id, "src": image_url(str(path), path.stat().st_size)}
        if heat and image_id in heat:
            sides[side]["heat"] = heat[image_id]
    small = max(images[i]["width"] or 0 for i in (pair.left, pair.right)) < SMALL
    return {"token": pair.token, "answer": pair.answer_id, **sides, "small": small}


def mount(config: dict, reply: dict | None, on_sync: Any) -> None:
    """The judging view; ``on_sync`` runs when the browser sends an exchange."""
    _MOUNT(key=KEY, data={"config": config, "reply": reply}, on_sync_change=on_sync)


def exchange(
    store: Store,
    rating: Rating,
    strategy: PairStrategy,
    candidates: list[int],
    rng: random.Random,
    sent: dict | None,
    captions: dict[int, dict[str, str]],
    heat_model: int | None = None,
) -> dict:
    """Answer the browser's exchange ``sent`` (None: the first batch of pairs) through
    the queue server; adds the captions of new images to ``captions``, each only up to
    the blinding its pair was issued under (nothing of them is sent from here). The new
    pairs carry the maps of version ``heat_model`` where a study lead turned them on."""
    events = sent.get("events") if sent else None
    held = sent.get("held") if sent else None
    try:
        reply = sync(
            store, rating, strategy, candidates, rng,
            events if isinstance(events, list) else [],
            held if isinstance(held, list) else [],
        )  # fmt: skip
    except NOT_SAVED_YET as exc:  # nothing acknowledged: the browser keeps and resends
        reply = Reply(notices=[f"Not saved, retrying: {exc}"])
    seq = str(sent.get("seq")) if sent else f"start-{uuid.uuid4().hex}"
    issued = ([reply.again] if reply.again else []) + reply.pairs
    rows = {i: store.images.get(i) for p in issued for i in (p.left, p.right)}
    captions.update(
        {i: captions_up_to(rows[i], p.blinding) for p in issued for i in (p.left, p.right)}
    )
    heat = heat_urls(store, heat_model, rows)
    prepared = []
    for pair in issued:
        try:
            prepared.append(pair_data(pair, rows, store.media_root, heat))
        except OSError:
            reply.notices.append("A pair was skipped: one of its images is missing from disk.")
    again = (
        prepared.pop(0)
        if reply.again and prepared and prepared[0]["token"] == reply.again.token
        else None
    )
    return reply_data(seq, reply, prepared, again)


def caption(row: dict, blinding: str | None) -> str:
    """What "Show dates and details" shows under an image at that blinding ("" when
    nothing may be shown)."""
    if blinding not in BLINDINGS or blinding == NOTHING_SHOWN:
        return ""
    grade = f"grade {row['grade']} · " if shows_grades(blinding) else ""
    return (
        f"#{row['id']} · {row['dataset']} · {grade}"
        f"{row['patient'] or 'no patient'} · {row['visit_date'] or 'no date'}"
    )


def captions_up_to(row: dict, blinding: str | None) -> dict[str, str]:
    """An image's caption at each level that shows something, up to ``blinding``."""
    if blinding not in BLINDINGS:  # a pair issued before tokens carried it: nothing
        return {}
    return {level: caption(row, level) for level in BLINDINGS[1 : BLINDINGS.index(blinding) + 1]}


def details(captions: dict[int, dict[str, str]], blinding: str) -> dict[int, str]:
    """The captions the browser may hold now: each image's at the stricter of the level
    its pair was issued under and the study's level now (a setting made stricter
    takes effect at once; one made looser does not reach pairs already issued)."""
    shown = {}
    for image_id, by_level in captions.items():
        if by_level:
            level = stricter(max(by_level, key=BLINDINGS.index), blinding)
            if level in by_level:
                shown[image_id] = by_level[level]
    return shown
