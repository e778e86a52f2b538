"""The server side of the browser's pair queue on the Compare page.

The browser holds a few pairs ahead, shows the next one on a key press and sends its
answers afterwards, in order. Each pair it holds came with a *token*: the pair, its
rater, dataset and scope, sealed with a key of the study's secret (kept in the database,
so a token stays valid across server restarts and page reloads): the browser can
neither read nor alter it. An answer carries its pair's token and is stored against
that pair for that rater only, with the token's id as the answer's request token:
sending it again stores nothing new and is acknowledged again (so the browser may
resend until it hears back). ``sync`` is one exchange: acknowledge the answers and
undos sent, check the pairs the browser still holds, and refill its queue through the
pair server (``serve.next_pair``), so that the beliefs behind active pairs include
every answer acknowledged so far.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.store import (
    ANSWERS,
    AlreadyJudged,
    Answer,
    DatabaseUnavailable,
    InvalidJudgment,
    NotFound,
    StorageFull,
    Store,
    StoreBusy,
)
from core.store.blinding import rater_blinding

from .base import PairStrategy
from .serve import ServedPair, next_pair

SECRET_SETTING = "pair_queue:secret"
QUEUE_SIZE = 16  # pairs the browser holds ahead, the one on screen included
TOKEN_BODY = 256  # bytes every sealed body is padded to, so that all tokens are as long
NONCE = 12  # bytes, AES-GCM's standard nonce, random per token
MAX_TOKEN = 600  # characters; longer ones are refused unread
SEALED = re.compile(r"^[A-Za-z0-9_-]+$")  # unpadded URL-safe base64
EVENT_ID = re.compile(r"^[0-9a-f]{32}(~[0-9]{1,4})?$|^u-[0-9a-zA-Z]{8,40}$")
NOT_ISSUED = "That answer's pair was not issued by this study; it was not stored."
# the database could not take an answer now; the browser keeps it and sends it again
NOT_SAVED_YET = (StoreBusy, DatabaseUnavailable, StorageFull)
OTHER_RATER = (
    "That answer was given while another rater was signed in on this browser; "
    "it was not stored under your name."
)


class InvalidToken(ValueError):
    """A pair token that this study did not issue (or that was altered)."""


@dataclass(frozen=True)
class Rating:
    """Whose queue it is: the rater, the dataset and the scope (and strategy) it is for."""

    rater_id: int
    dataset_id: int | None
    scope_key: str  # a short name for the scope and strategy the pairs are drawn for


@dataclass(frozen=True)
class QueuedPair:
    """A pair issued to a browser queue, with its signed token."""

    token: str
    answer_id: str  # the request token of its first answer
    left: int
    right: int
    rater_id: int
    dataset_id: int | None
    scope_key: str
    strategy: str
    repeat_of: int | None = None
    blinding: str | None = None  # what raters could see when it was issued; None: unknown


@dataclass(frozen=True)
class Ack:
    """What became of one event the browser sent."""

    event_id: str
    status: str  # stored | refused | done | busy (not saved: kept by the browser, resent)
    message: str | None = None


@dataclass
class Reply:
    acks: list[Ack] = field(default_factory=list)
    pairs: list[QueuedPair] = field(default_factory=list)  # to append to the queue
    again: QueuedPair | None = None  # a retracted pair to show now (undo after a reload)
    dropped: list[str] = field(default_factory=list)  # tokens the browser must drop
    notices: list[str] = field(default_factory=list)
    exhausted: bool = False  # no pair left in this scope


class PairTokens:
    """Issues and reads the study's pair tokens. A token is its pair's details sealed
    with AES-GCM (``cryptography``) under a key derived from the study's secret: the
    browser, and a rater looking through its developer tools, learn nothing from it
    (not whether the pair is an unannounced repeat, its strategy, the rater's or the
    images' ids), and an altered or forged token fails the authentication check.
    Bodies are padded to one length, so that a repeat's token is no longer than
    another's. A token carries the blinding in force when it was issued, so that a
    change of setting while pairs wait in a queue does not relabel the answers given
    under the old one."""

    def __init__(self, store: Store):
        self._secret = bytes.fromhex(
            store.settings.setdefault(SECRET_SETTING, secrets.token_hex(32))
        )
        # a key of its own for sealing, derived from the secret (which also signed tokens)
        key = hmac.new(self._secret, b"pair-token|aes-gcm", hashlib.sha256).digest()
        self._sealing = AESGCM(key)
        # names this study in the browser's storage; says nothing about the secret
        self.study_id = hashlib.sha256(b"study|" + self._secret).hexdigest()[:12]
        self.blinding = rater_blinding(store)

    def issue(self, rating: Rating, pair: ServedPair, strategy: str) -> QueuedPair:
        answer_id = secrets.token_hex(16)
        body = {
            "n": answer_id,
            "r": rating.rater_id,
            "d": rating.dataset_id,
            "k": rating.scope_key,
            "l": pair.left,
            "g": pair.right,
            "s": "repeat" if pair.repeat_of is not None else strategy,
            "p": pair.repeat_of,
            "b": self.blinding,
        }
        plain = json.dumps(body, separators=(",", ":")).encode()
        if len(plain) > TOKEN_BODY:
            raise ValueError(f"A pair token's body takes {len(plain)} bytes, over {TOKEN_BODY}.")
        nonce = secrets.token_bytes(NONCE)
        sealed = self._sealing.encrypt(nonce, plain.ljust(TOKEN_BODY), None)
        return self.read(base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("="))

    def read(self, token: Any) -> QueuedPair:
        """The pair of a token this study issued; ``InvalidToken`` for any other."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN:
            raise InvalidToken(NOT_ISSUED)
        body = self._signed_body(token) if "." in token else self._sealed_body(token)
        return QueuedPair(
            token, body["n"], body["l"], body["g"], body["r"], body["d"], body["k"], body["s"],
            body["p"], body.get("b"),  # no "b": issued before answers recorded their blinding
        )  # fmt: skip

    def _sealed_body(self, token: str) -> dict:
        if not SEALED.match(token):
            raise InvalidToken(NOT_ISSUED)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._sealing.decrypt(raw[:NONCE], raw[NONCE:], None)
        except (InvalidTag, ValueError) as exc:
            raise InvalidToken(NOT_ISSUED) from exc
        return json.loads(plain)

    def _signed_body(self, token: str) -> dict:
        """A token of an earlier release (its body readable, signed with the secret), still
        accepted so that answers it carries in a browser's outbox are not lost."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(self._sign(payload.encode()), signature):
            raise InvalidToken(NOT_ISSUED)
        return json.loads(base64.urlsafe_b64decode(payload))

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()[:32]


def sync(
    store: Store,
    rating: Rating,
    strategy: PairStrategy,
    candidates: Sequence[int],
    rng: random.Random,
    events: Sequence[Any],
    held: Sequence[Any],
    size: int = QUEUE_SIZE,
) -> Reply:
    """One exchange with a browser queue: store ``events`` (answers and undos, oldest
    first) and acknowledge each; drop the ``held`` tokens that can no longer be
    answered; refill the queue to ``size`` pairs. Stops at the first event the
    database is too busy to take (the rest stay with the browser, in order) and then
    issues nothing new, so that no pair is served while its answer waits. The same
    holds when the database is out of reach or its disk is full: "not saved, retrying"."""
    tokens = PairTokens(store)
    reply = Reply()
    for event in events:
        ack, again = _acknowledge(store, tokens, rating, event)
        reply.acks.append(ack)
        if again is not None:
            reply.again = tokens.issue(rating, again, strategy.name)
        if ack.status == "busy":
            reply.notices.append(ack.message or "")
            return reply
        if ack.status == "refused" and ack.message:
            reply.notices.append(ack.message)
    kept = [reply.again] if reply.again is not None else []
    kept += _check_held(store, tokens, rating, held, reply, kept)
    reply.pairs = fill(store, tokens, rating, strategy, candidates, rng, kept, size - len(kept))
    shown = kept[0] if kept else (reply.pairs[0] if reply.pairs else None)
    if shown is not None:
        store.screens.show(rating.rater_id, shown.left, shown.right)  # no other rater gets it
    reply.exhausted = shown is None
    reply.notices = list(dict.fromkeys(reply.notices))
    return reply


def fill(
    store: Store,
    tokens: PairTokens,
    rating: Rating,
    strategy: PairStrategy,
    candidates: Sequence[int],
    rng: random.Random,
    queued: Sequence[QueuedPair],
    count: int,
) -> list[QueuedPair]:
    """Up to ``count`` new pairs from the pair server, none with an image already in the
    queue (nor in another new pair)."""
    busy = {image for pair in queued for image in (pair.left, pair.right)}
    issued: list[QueuedPair] = []
    for _ in range(max(0, count)):
        pool = [image for image in candidates if image not in busy]
        served = next_pair(store, rating.rater_id, strategy, pool, rng, rating.dataset_id)
        if served is None:
            break
        issued.append(tokens.issue(rating, served, strategy.name))
        busy |= {served.left, served.right}
    return issued


def _acknowledge(
    store: Store, tokens: PairTokens, rating: Rating, event: Any
) -> tuple[Ack, ServedPair | None]:
    event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
    if not EVENT_ID.match(event_id):
        return Ack(event_id, "refused", "A malformed answer was ignored."), None
    try:
        if event.get("kind") == "undo":
            return _undo(store, rating, event_id, event.get("target"))
        return _answer(store, tokens, rating, event_id, event), None
    except NOT_SAVED_YET as exc:
        return Ack(event_id, "busy", f"Not saved, retrying: {exc}"), None


def _answer(store: Store, tokens: PairTokens, rating: Rating, event_id: str, event: dict) -> Ack:
    try:
        pair = tokens.read(event.get("token"))
    except (InvalidToken, ValueError, KeyError, TypeError):
        return Ack(event_id, "refused", NOT_ISSUED)
    if pair.rater_id != rating.rater_id:
        return Ack(event_id, "refused", OTHER_RATER)
    if event_id.split("~")[0] != pair.answer_id or event.get("outcome") not in ANSWERS:
        return Ack(event_id, "refused", "A malformed answer was ignored.")
    answer = Answer(
        pair.left,
        pair.right,
        event["outcome"],
        rating.rater_id,
        response_ms=_milliseconds(event.get("ms")),
        strategy=pair.strategy,
        request_token=event_id,
        repeat_of=pair.repeat_of,
        blinding=pair.blinding,
    )
    try:
        store.retrying(lambda: store.judgments.append(answer))
    except (AlreadyJudged, InvalidJudgment) as exc:
        return Ack(event_id, "refused", str(exc))
    return Ack(event_id, "stored")


def _undo(
    store: Store, rating: Rating, event_id: str, target: Any
) -> tuple[Ack, ServedPair | None]:
    """Retract the answer ``target`` (an answer's id) if it is still this rater's latest;
    without a target (the browser no longer knows it, after a reload), the latest one,
    whose pair then comes back with a new token."""
    only = str(target) if target else None
    retracted = store.retrying(
        lambda: store.judgments.undo_last(rating.rater_id, event_id, only_token=only)
    )
    if retracted is None:
        return Ack(event_id, "done"), None
    if only is not None:
        return Ack(event_id, "done", "Your last answer was withdrawn."), None
    again = ServedPair(retracted["left_image_id"], retracted["right_image_id"])
    return Ack(event_id, "done", "Your last answer was withdrawn; here is that pair again."), again


def _check_held(
    store: Store,
    tokens: PairTokens,
    rating: Rating,
    held: Sequence[Any],
    reply: Reply,
    before: Sequence[QueuedPair] = (),
) -> list[QueuedPair]:
    """The held pairs that may still be answered, in order, none sharing an image with
    another or with ``before``; the others go to ``reply.dropped`` (with a notice when
    the rater should know why)."""
    kept: list[QueuedPair] = []
    seen = {image for pair in before for image in (pair.left, pair.right)}
    for token in held:
        try:
            pair = tokens.read(token)
        except (InvalidToken, ValueError, KeyError, TypeError):
            reply.dropped.append(str(token))
            continue
        reason = _unusable(store, rating, pair, seen)
        if reason is None:
            kept.append(pair)
            seen |= {pair.left, pair.right}
            continue
        reply.dropped.append(pair.token)
        if reason:
            reply.notices.append(reason)
    return kept


def _unusable(store: Store, rating: Rating, pair: QueuedPair, seen: set[int]) -> str | None:
    """Why a held pair can no longer be shown ("" for a silent reason), or None."""
    if pair.rater_id != rating.rater_id or pair.scope_key != rating.scope_key:
        return ""  # pairs of another scope: the browser already set them aside
    if {pair.left, pair.right} & seen:
        return ""
    for image_id in (pair.left, pair.right):
        try:
            row = store.images.get(image_id)
        except NotFound:
            return "A queued pair was dropped: one of its images was removed."
        if row["dataset_id"] != pair.dataset_id:
            return "A queued pair was dropped: one of its images moved to another dataset."
        if not store.media_path(row["pixel_path"]).is_file():
            return "A queued pair was dropped: one of its images is missing from disk."
    if pair.repeat_of is None and store.judgments.has_standing(
        rating.rater_id, pair.left, pair.right
    ):
        return ""  # answered meanwhile (another tab)
    return None


def _milliseconds(value: Any) -> int | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return ms if 0 <= ms < 86_400_000 else None
