// The Compare page's judging view (Streamlit components v2).
//
// Holds a queue of prepared pairs (images decoded before they are needed), shows the
// next one on a key press without waiting for the server, and sends the answers in
// the background, oldest first, each with its pair's token. An answer stays pending,
// in localStorage (keyed by study, dataset and rater), until the server acknowledges
// its id; pending answers are sent again after a reload, a dropped connection or a
// server restart, and the token makes a second send store nothing new.
//
// Streamlit calls the default export again with new `data` after every run of the
// page's fragment; the view lives on its parent element between calls.

const KEYS = {
  ArrowLeft: "left",
  ArrowRight: "right",
  e: "equal",
  E: "equal",
  s: "skip",
  S: "skip",
  u: "undo",
  U: "undo",
};
const BUTTONS = [
  ["left", "← Left more severe", "primary"],
  ["equal", "Equal (E)", ""],
  ["skip", "Can't tell (S)", ""],
  ["right", "Right more severe →", "primary"],
  ["undo", "Undo (U)", ""],
];
const RESEND_MS = 3000; // an exchange not answered by then is sent again
const QUIET_MS = 5000; // how soon to ask again for pairs when the server had none
const MAX_EVENTS = 40; // answers sent in one exchange
const BATCH_MS = 150; // how long an answer may wait for others while the queue is full
// elements whose own keys (arrows, letters) must not answer a pair
const TYPING =
  "input:not([type=checkbox]):not([type=button]):not([type=submit]), textarea, select, " +
  "[contenteditable=''], [contenteditable=true], [role=slider], [role=radio], " +
  "[role=combobox], [role=listbox], [role=option], [role=spinbutton], [role=textbox]";

function html(tag, attributes = {}, text = "") {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text) element.textContent = text;
  return element;
}

function randomId(length = 16) {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

// An image with its attribution map laid over it (teaching only): the map is a
// transparent PNG drawn as a background, its opacity set in CSS, the image untouched.
function withHeat(image, heat) {
  if (!heat) return image;
  const frame = html("div", { class: "sq-frame" });
  const layer = html("div", { class: "sq-heat", "data-testid": "heat" });
  layer.style.backgroundImage = `url("${heat}")`;
  frame.append(image, layer);
  return frame;
}

// --- the view ---

class QueueView {
  constructor(parent) {
    this.outbox = new Outbox();
    this.queue = []; // prepared pairs; the first is on screen
    this.history = []; // answered pairs, newest last (for undo)
    this.seen = new Set(); // tokens this view has held
    this.applied = new Set(); // replies already applied
    this.sent = new Set(); // event ids sent at least once
    this.inflight = null; // {seq, at, ids}
    this.tag = randomId(8);
    this.exchanges = 0;
    this.config = null;
    this.exhausted = false;
    this.quietAt = 0;
    this.build(parent);
    this.listen();
  }

  build(parent) {
    this.root = html("div", { class: "sq", tabindex: "0", "data-testid": "compare-queue" });
    this.root.dataset.view = this.tag; // a new one means the view was built again
    this.keysLabel = html("span", { class: "sq-keys" });
    this.pendingLabel = html("span", { class: "sq-pending", role: "status" });
    this.othersLabel = html("div", { class: "sq-others" });
    this.noticeLabel = html("div", { class: "sq-notice", role: "status" });
    const status = html("div", { class: "sq-status" });
    status.append(this.keysLabel, this.pendingLabel);
    this.slots = ["left", "right"].map((side) => html("figure", { class: "sq-slot", "data-side": side }));
    this.captions = this.slots.map(() => html("figcaption", { class: "sq-caption" }));
    this.pair = html("div", { class: "sq-pair" });
    this.pair.append(...this.slots);
    this.empty = html("div", { class: "sq-empty" });
    const buttons = html("div", { class: "sq-buttons" });
    for (const [action, label, kind] of BUTTONS) {
      const button = html("button", { type: "button", "data-action": action, class: kind }, label);
      button.addEventListener("click", () => this.act(action));
      buttons.append(button);
    }
    this.root.append(status, this.othersLabel, this.noticeLabel, this.pair, this.empty, buttons);
    this.root.addEventListener("pointerdown", () => this.root.focus({ preventScroll: true }));
    parent.append(this.root);
  }

  listen() {
    const onKey = (event) => this.onKey(event);
    const onFocus = () => this.renderFocus();
    const onOnline = () => {
      this.inflight = null;
      this.exchange();
    };
    const onStorage = () => this.renderPending();
    const onLeave = (event) => {
      if (this.config && this.outbox.pending(this.config).length) {
        event.preventDefault();
        event.returnValue = ""; // the browser asks before closing: answers are not saved yet
      }
    };
    const timer = setInterval(() => this.tick(), 1000);
    window.addEventListener("keydown", onKey);
    window.addEventListener("focus", onFocus);
    window.addEventListener("blur", onFocus);
    document.addEventListener("focusin", onFocus);
    document.addEventListener("focusout", onFocus);
    window.addEventListener("online", onOnline);
    window.addEventListener("storage", onStorage);
    window.addEventListener("beforeunload", onLeave);
    this.cleanup = () => {
      clearInterval(timer);
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("focus", onFocus);
      window.removeEventListener("blur", onFocus);
      document.removeEventListener("focusin", onFocus);
      document.removeEventListener("focusout", onFocus);
      window.removeEventListener("online", onOnline);
      window.removeEventListener("storage", onStorage);
      window.removeEventListener("beforeunload", onLeave);
    };
  }

  // --- data from the server ---

  update(data, send) {
    this.send = send;
    const config = data.config;
    const previous = this.config;
    if (!previous || ["study", "dataset", "rater", "scope"].some((k) => previous[k] !== config[k])) {
      if (previous && previous.rater !== config.rater) this.history = [];
      this.queue = []; // pairs of another scope are set aside; pending answers still go
      this.inflight = null;
      this.quietAt = 0;
    }
    this.config = config;
    this.style(config);
    const head = this.queue[0];
    const reply = data.reply;
    if (reply && !this.applied.has(reply.seq)) {
      this.applied.add(reply.seq);
      this.apply(reply);
    }
    if (this.queue[0] !== head || !previous) this.show();
    this.captionize();
    this.renderPending();
    this.renderFocus();
    if (!previous) this.exchange(true); // says it is alive, and sends what a reload left
  }

  style(config) {
    this.root.style.setProperty("--sq-zoom", String(config.zoom));
    this.root.style.setProperty("--sq-contrast", String(config.contrast));
    // a study lead's teaching maps: 0 hides those already held once teaching is off
    this.root.style.setProperty("--sq-heat-opacity", String(config.heat_opacity || 0));
  }

  apply(reply) {
    this.settle(reply);
    const dropped = new Set(reply.dropped);
    this.queue = this.queue.filter((p) => !dropped.has(p.token));
    if (reply.again && !this.seen.has(reply.again.token)) this.putFirst(this.prepare(reply.again));
    for (const pair of reply.pairs) {
      if (this.queue.length >= this.config.size) break; // two replies to one question
      if (!this.seen.has(pair.token) && !this.sharesImage(pair)) this.queue.push(this.prepare(pair));
    }
    this.exhausted = reply.exhausted && !this.queue.length;
    this.root.dataset.queued = String(this.queue.length);
    // a queue the server could not top up: ask again later, not on every tick
    this.quietAt = reply.pairs.length ? 0 : performance.now();
    if (reply.notices.length) this.notice(reply.notices.join(" "));
    this.renderPending();
    const answered = this.inflight && reply.seq === this.inflight.seq;
    if (answered) {
      // the last exchange's round trip, for the latency benchmark
      this.root.dataset.roundTrip = String(Math.round(performance.now() - this.inflight.at));
      this.inflight = null;
    }
    if (answered && (this.outbox.pending(this.config).length || reply.pairs.length)) {
      setTimeout(() => this.exchange(), 0);
    }
  }

  // the acknowledged events leave the outbox and the undo history learns their fate;
  // one the server could not save now ("busy": busy, out of reach, disk full) stays
  // here to be sent again, and the view says so until an exchange saves again
  settle(reply) {
    const settled = new Map();
    for (const ack of reply.acks) if (ack.status !== "busy") settled.set(ack.id, ack.status);
    this.retrying =
      reply.acks.some((a) => a.status === "busy") ||
      reply.notices.some((text) => text.startsWith("Not saved, retrying"));
    for (const entry of this.history) {
      if (settled.has(entry.id)) entry.status = settled.get(entry.id);
    }
    this.outbox.remove(this.config, new Set(settled.keys()));
  }

  prepare(pair) {
    this.seen.add(pair.token);
    const images = ["left", "right"].map((side) => {
      const image = new Image();
      image.alt = `${side} image`;
      image.decoding = "async";
      image.src = pair[side].src;
      image.decode().catch(() => {}); // decoded now, so that showing it costs nothing
      return image;
    });
    const shown = images.map((image, i) => withHeat(image, pair[["left", "right"][i]].heat));
    return { ...pair, images, shown, attempt: 0, shownAt: 0 };
  }

  sharesImage(pair) {
    const held = new Set(this.queue.flatMap((p) => [p.left.id, p.right.id]));
    return held.has(pair.left.id) || held.has(pair.right.id);
  }

  putFirst(entry) {
    const images = new Set([entry.left.id, entry.right.id]);
    this.queue = [entry, ...this.queue.filter((p) => !images.has(p.left.id) && !images.has(p.right.id))];
  }

  // --- the rater's actions ---

  onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      const active = this.activeElement();
      if (active && active.matches && active.matches(TYPING)) active.blur();
      this.renderFocus();
      return;
    }
    const action = KEYS[event.key];
    if (!action || !this.config || this.typing()) return;
    event.preventDefault();
    if (!event.repeat) this.act(action); // a key held down answers once
  }

  act(action) {
    if (!this.config) return;
    if (action === "undo") {
      this.undo();
      return;
    }
    const pair = this.queue[0];
    if (!pair) return;
    const id = pair.attempt ? `${pair.answer}~${pair.attempt}` : pair.answer;
    const ms = Math.round(performance.now() - pair.shownAt);
    this.post({ kind: "answer", id, token: pair.token, outcome: action, ms });
    this.queue.shift();
    this.show(); // the next pair, in this frame
    this.history.push({ pair, id, status: "pending" });
    if (this.history.length > 50) this.history.shift();
    this.renderPending();
    // sent after the paint; while the queue is well stocked, a few answers go together
    // (each exchange makes the page busy for a moment, which a key press could meet)
    const soon = this.queue.length <= this.config.size / 2 ? 0 : BATCH_MS;
    clearTimeout(this.batchTimer);
    this.batchTimer = setTimeout(() => this.exchange(), soon);
  }

  undo() {
    const last = this.history.pop();
    if (last && last.status === "refused") {
      this.notice("That answer was not stored, so there is nothing to undo.");
      return;
    }
    if (last && !this.sent.has(last.id) && this.outbox.remove(this.config, new Set([last.id]))) {
      this.notice("Your last answer was withdrawn before it was saved; here is that pair again.");
      this.putFirst(last.pair);
    } else {
      // a stored answer (or one that may have reached the server): the server withdraws
      // it; without a target (none known here, after a reload), the rater's latest
      this.post({ kind: "undo", id: `u-${randomId(20)}`, target: last ? last.id : null });
      if (last) {
        last.pair.attempt += 1; // its next answer is a new one
        this.notice("Your last answer was withdrawn; here is that pair again.");
        this.putFirst(last.pair);
      } else {
        this.notice("Withdrawing your last saved answer…");
      }
    }
    this.show();
    this.renderPending();
    this.exchange();
  }

  // --- the exchange with the server ---

  // an answer or an undo, kept in the outbox (in the order given) until acknowledged
  post(event) {
    this.outbox.add(this.config, { ...event, t: Date.now() });
  }

  exchange(hello = false) {
    if (!this.config || !this.send) return;
    const now = performance.now();
    if (this.inflight && now - this.inflight.at < RESEND_MS) return;
    const events = this.outbox.pending(this.config).slice(0, MAX_EVENTS);
    const short = this.queue.length < this.config.size && now - this.quietAt > QUIET_MS;
    if (!hello && !events.length && !short) return;
    const seq = `${this.tag}-${++this.exchanges}`;
    this.inflight = { seq, at: now };
    for (const event of events) this.sent.add(event.id);
    const held = this.queue.map((p) => p.token);
    this.send("sync", { seq, events: events.map(({ t, ...event }) => event), held });
  }

  tick() {
    this.renderPending();
    this.renderFocus();
    this.exchange();
  }

  // --- what the rater sees ---

  show() {
    const pair = this.queue[0];
    this.root.dataset.queued = String(this.queue.length);
    this.root.dataset.token = pair ? pair.answer : "";
    this.root.dataset.left = pair ? String(pair.left.id) : "";
    this.root.dataset.right = pair ? String(pair.right.id) : "";
    this.root.classList.toggle("sq-pixelated", Boolean(pair && pair.small));
    if (!pair) {
      this.slots.forEach((slot) => slot.replaceChildren());
      this.empty.textContent =
        this.exhausted && !this.outbox.pending(this.config).length
          ? "No pairs left to judge in this scope. Choose another scope in the sidebar."
          : "Preparing the next pairs…";
      return;
    }
    this.empty.textContent = "";
    this.slots.forEach((slot, i) => slot.replaceChildren(pair.shown[i], this.captions[i]));
    pair.shownAt = performance.now();
    this.captionize();
  }

  captionize() {
    const pair = this.queue[0];
    const details = (this.config && this.config.details) || {};
    ["left", "right"].forEach((side, i) => {
      this.captions[i].textContent = pair ? details[pair[side].id] || "" : "";
    });
  }

  renderPending() {
    if (!this.config) return;
    const n = this.outbox.pending(this.config).length;
    this.root.dataset.pending = String(n);
    const retrying = n && this.retrying ? ": not saved, retrying" : " not yet saved";
    this.pendingLabel.textContent = n
      ? `${n} ${n === 1 ? "answer" : "answers"}${retrying}`
      : "All answers saved";
    this.pendingLabel.classList.toggle("sq-unsaved", n > 0);
    const others = this.outbox.othersPending(this.config);
    this.othersLabel.textContent = others
      ? `${others} ${others === 1 ? "answer" : "answers"} given here while another rater was ` +
        "signed in are not saved yet: they are sent when that rater signs in again, never under your name."
      : "";
  }

  renderFocus() {
    const live = document.hasFocus() && !this.typing();
    this.root.classList.toggle("sq-live", live);
    this.keysLabel.textContent = live
      ? "Keys on: ← left · → right · E equal · S can't tell · U undo"
      : "Keys paused while a field has the focus: press Esc or click the pair";
  }

  notice(text) {
    this.noticeLabel.textContent = text;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.noticeLabel.textContent = ""), 8000);
  }

  activeElement() {
    let active = document.activeElement;
    while (active && active.shadowRoot && active.shadowRoot.activeElement) {
      active = active.shadowRoot.activeElement;
    }
    return active;
  }

  typing() {
    const active = this.activeElement();
    return Boolean(active && active.matches && active.matches(TYPING));
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!parentElement.__severityQueue) parentElement.__severityQueue = new QueueView(parentElement);
  const view = parentElement.__severityQueue;
  view.update(data, setTriggerValue);
  return view.cleanup;
}
