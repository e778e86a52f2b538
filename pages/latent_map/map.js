// The Latent space page's 2-D map (Streamlit components v2).
//
// Paints every point straight into a canvas's pixels: 100,000 points take a few
// milliseconds and no chart library. The points (coordinates, a one-byte colour code,
// what the hover shows) arrive once, as an Arrow table, and are kept in the page under
// their key; when the page runs again (after a selection, a toggle) Python sends the
// key alone. A box or lasso goes back to Python as its outline in map coordinates, a
// few bytes however many points it holds; Python finds the points inside.
//
// Modes: box select, lasso select, zoom (drag a box), pan (drag); "Reset view" fits
// the map again, "Clear selection" (or Escape) drops the selection.

const HELD = (globalThis.__severityMaps ??= new Map()); // key -> points, the last few maps
// times points arrived from Python in this page load, over every view (tests and the
// large-study benchmark check they arrive once per map)
const LOADS = (globalThis.__severityMapLoads ??= { count: 0 });
const KEEP = 3; // maps held at once
const PAD = 0.04; // share of the map's extent left around it
const CELL = 10; // device pixels per cell of the hover index
const MAX_VERTICES = 256; // a lasso's outline is thinned to this many points
const MODES = [
  ["box", "Box select"],
  ["lasso", "Lasso select"],
  ["zoom", "Zoom"],
  ["pan", "Pan"],
];

function html(tag, attributes = {}, text = "") {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text) element.textContent = text;
  return element;
}

function rgba(hex) {
  const v = parseInt(hex.slice(1), 16);
  // canvas pixels are RGBA bytes: little-endian, so alpha is the high byte
  return ((255 << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
}

function column(table, name) {
  const child = table.getChild(name);
  return child ? child.toArray() : null;
}

// The points of one map, as typed arrays, from the Arrow table Python sent.
function readPoints(table) {
  const points = {
    n: table.numRows,
    x: column(table, "x"),
    y: column(table, "y"),
    id: column(table, "id"),
    c: column(table, "c"),
    severity: column(table, "severity"),
    patient: table.getChild("patient"),
    grade: table.getChild("grade"),
  };
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity; // prettier-ignore
  for (let i = 0; i < points.n; i++) {
    const x = points.x[i], y = points.y[i]; // prettier-ignore
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const dx = (x1 - x0 || 1) * PAD, dy = (y1 - y0 || 1) * PAD; // prettier-ignore
  points.extent = { x0: x0 - dx, x1: x1 + dx, y0: y0 - dy, y1: y1 + dy };
  return points;
}

class MapView {
  constructor(parent) {
    this.root = html("div", { class: "lm", "data-testid": "latent-map" });
    this.bar = html("div", { class: "lm-bar" });
    this.modeButtons = {};
    for (const [mode, label] of MODES) {
      const button = html("button", { type: "button", "data-mode": mode }, label);
      button.addEventListener("click", () => this.setMode(mode));
      this.modeButtons[mode] = button;
      this.bar.append(button);
    }
    const reset = html("button", { type: "button", "data-action": "reset" }, "Reset view");
    reset.addEventListener("click", () => this.resetView());
    const clear = html("button", { type: "button", "data-action": "clear" }, "Clear selection");
    clear.addEventListener("click", () => this.clearSelection());
    this.status = html("span", { class: "lm-status", "aria-live": "polite" });
    this.bar.append(reset, clear, this.status);
    this.stage = html("div", { class: "lm-stage" });
    this.canvas = html("canvas", { class: "lm-points", role: "img" });
    this.overlay = html("canvas", { class: "lm-overlay", tabindex: "0" });
    this.tip = html("div", { class: "lm-tip", role: "tooltip", hidden: "" });
    this.stage.append(this.canvas, this.overlay, this.tip);
    this.legend = html("div", { class: "lm-legend" });
    this.root.append(this.bar, this.stage, this.legend);
    parent.append(this.root);

    this.mode = "box";
    this.view = null;
    this.points = null;
    this.drag = null;
    this.setMode("box");
    this.overlay.addEventListener("pointerdown", (e) => this.down(e));
    this.overlay.addEventListener("pointermove", (e) => this.move(e));
    this.overlay.addEventListener("pointerup", (e) => this.up(e));
    this.overlay.addEventListener("pointerleave", () => this.hideTip());
    this.overlay.addEventListener("dblclick", () => this.resetView());
    this.overlay.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.clearSelection();
    });
    this.resize = new ResizeObserver(() => this.layout());
    this.resize.observe(this.stage);
    this.cleanup = () => this.resize.disconnect();
  }

  // --- data from Python ---

  update(data, send) {
    this.send = send;
    this.data = data;
    this.stage.style.height = `${data.height || 560}px`;
    let points = HELD.get(data.key);
    if (data.points) {
      points = readPoints(data.points);
      LOADS.count += 1;
      HELD.delete(data.key);
      HELD.set(data.key, points);
      while (HELD.size > KEEP) HELD.delete(HELD.keys().next().value);
    }
    if (!points) {
      // Python believed these points were here already: ask for them again, and show
      // nothing meanwhile (the points on screen are another map's)
      this.points = null;
      this.index = null;
      for (const canvas of [this.canvas, this.overlay]) {
        canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
      }
      this.status.textContent = "Loading the map…";
      send("need", data.key);
      return;
    }
    const sameMap = this.points && this.mapId === data.map;
    this.points = points;
    this.mapId = data.map;
    this.palette = Uint32Array.from(data.palette, rgba);
    this.region = data.region || null;
    if (!sameMap || !this.view) this.view = { ...points.extent };
    this.showLegend(data.legend);
    this.root.dataset.loads = String(LOADS.count);
    this.root.dataset.points = String(points.n);
    this.root.dataset.map = data.map;
    this.layout();
  }

  showLegend(legend) {
    this.legend.replaceChildren();
    if (!legend) return;
    this.legend.append(html("span", { class: "lm-legend-title" }, legend.title));
    if (legend.kind === "scale") {
      const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
      const bar = html("span", { class: "lm-scale" });
      bar.style.background = `linear-gradient(to right, ${legend.colours.join(", ")})`;
      this.legend.append(html("span", {}, fmt(legend.low)), bar, html("span", {}, fmt(legend.high)));
      return;
    }
    for (const [label, colour] of legend.items) {
      const item = html("span", { class: "lm-item" });
      const swatch = html("span", { class: "lm-swatch" });
      swatch.style.background = colour;
      item.append(swatch, document.createTextNode(label));
      this.legend.append(item);
    }
    if (legend.more) this.legend.append(html("span", {}, `and ${legend.more} more (colours repeat)`));
  }

  // --- drawing ---

  layout() {
    if (!this.points) return;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.stage.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.stage.clientHeight * ratio));
    for (const canvas of [this.canvas, this.overlay]) {
      if (canvas.width !== width) canvas.width = width;
      if (canvas.height !== height) canvas.height = height;
    }
    this.ratio = ratio;
    this.draw();
  }

  // map coordinates to device pixels and back
  sx(x) { return ((x - this.view.x0) / (this.view.x1 - this.view.x0)) * this.canvas.width; } // prettier-ignore
  sy(y) { return ((this.view.y1 - y) / (this.view.y1 - this.view.y0)) * this.canvas.height; } // prettier-ignore
  mx(px) { return this.view.x0 + (px / this.canvas.width) * (this.view.x1 - this.view.x0); } // prettier-ignore
  my(py) { return this.view.y1 - (py / this.canvas.height) * (this.view.y1 - this.view.y0); } // prettier-ignore

  draw() {
    const started = performance.now();
    const { canvas, points, palette } = this;
    const width = canvas.width, height = canvas.height; // prettier-ignore
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, height);
    const pixels = new Uint32Array(image.data.buffer);
    const size = Math.max(2, Math.round(3 * this.ratio));
    const half = size >> 1;
    const ax = width / (this.view.x1 - this.view.x0), ay = height / (this.view.y1 - this.view.y0); // prettier-ignore
    const { x, y, c, n } = points;
    const cols = Math.ceil(width / CELL), rows = Math.ceil(height / CELL); // prettier-ignore
    const cellOf = new Int32Array(n).fill(-1);
    const counts = new Int32Array(cols * rows + 1);
    let drawn = 0;
    for (let i = 0; i < n; i++) {
      const px = Math.round((x[i] - this.view.x0) * ax) - half;
      const py = Math.round((this.view.y1 - y[i]) * ay) - half;
      if (px < -size || py < -size || px >= width || py >= height) continue;
      const colour = palette[c[i]];
      for (let r = Math.max(0, py); r < Math.min(height, py + size); r++) {
        const row = r * width;
        for (let k = Math.max(0, px); k < Math.min(width, px + size); k++) pixels[row + k] = colour;
      }
      const cx = Math.min(cols - 1, Math.max(0, Math.floor((px + half) / CELL)));
      const cy = Math.min(rows - 1, Math.max(0, Math.floor((py + half) / CELL)));
      cellOf[i] = cy * cols + cx;
      counts[cellOf[i] + 1] += 1;
      drawn += 1;
    }
    context.putImageData(image, 0, 0);
    // hover index: the points of each cell, found by a counting sort
    for (let k = 1; k < counts.length; k++) counts[k] += counts[k - 1];
    const order = new Int32Array(drawn);
    const fill = counts.slice(0, cols * rows);
    for (let i = 0; i < n; i++) if (cellOf[i] >= 0) order[fill[cellOf[i]]++] = i;
    this.index = { cols, rows, start: counts, order };
    this.drawOverlay();
    const ms = performance.now() - started;
    this.root.dataset.drawn = String(drawn);
    this.root.dataset.drawMs = ms.toFixed(1);
    this.status.textContent =
      `${drawn.toLocaleString()} of ${n.toLocaleString()} points shown` +
      (this.pending ? " · selecting…" : "");
  }

  // the selection's outline and, while dragging, the box or lasso being drawn
  drawOverlay() {
    const context = this.overlay.getContext("2d");
    context.clearRect(0, 0, this.overlay.width, this.overlay.height);
    context.lineWidth = Math.max(1, this.ratio);
    const outline = (xs, ys, box, style, dashed) => {
      context.beginPath();
      context.setLineDash(dashed ? [6 * this.ratio, 4 * this.ratio] : []);
      context.strokeStyle = style;
      if (box) {
        context.rect(xs[0], ys[0], xs[1] - xs[0], ys[1] - ys[0]);
      } else {
        xs.forEach((v, k) => (k ? context.lineTo(v, ys[k]) : context.moveTo(v, ys[k])));
        context.closePath();
      }
      context.fillStyle = "rgba(80, 120, 220, 0.08)";
      context.fill();
      context.stroke();
    };
    if (this.region && this.region.map === this.mapId) {
      const r = this.region;
      outline(r.x.map((v) => this.sx(v)), r.y.map((v) => this.sy(v)), r.kind === "box", "#3060d0", false); // prettier-ignore
    }
    const drag = this.drag;
    if (drag && drag.mode !== "pan") {
      const xs = drag.mode === "lasso" ? drag.xs : [drag.xs[0], drag.xs.at(-1)];
      const ys = drag.mode === "lasso" ? drag.ys : [drag.ys[0], drag.ys.at(-1)];
      outline(xs, ys, drag.mode !== "lasso", "#222", true);
    }
  }

  // --- pointer ---

  at(event) {
    const rect = this.overlay.getBoundingClientRect();
    return [(event.clientX - rect.left) * this.ratio, (event.clientY - rect.top) * this.ratio];
  }

  setMode(mode) {
    this.mode = mode;
    for (const [name, button] of Object.entries(this.modeButtons)) {
      button.classList.toggle("lm-on", name === mode);
      button.setAttribute("aria-pressed", String(name === mode));
    }
    this.root.dataset.mode = mode;
  }

  down(event) {
    if (!this.points || event.button !== 0) return;
    this.overlay.setPointerCapture(event.pointerId);
    const [px, py] = this.at(event);
    this.drag = { mode: this.mode, xs: [px], ys: [py], view: { ...this.view } };
    this.hideTip();
  }

  move(event) {
    const drag = this.drag;
    const [px, py] = this.at(event);
    if (!drag) return this.hover(px, py);
    if (drag.mode === "pan") {
      const dx = ((px - drag.xs[0]) / this.canvas.width) * (drag.view.x1 - drag.view.x0);
      const dy = ((py - drag.ys[0]) / this.canvas.height) * (drag.view.y1 - drag.view.y0);
      this.view = { x0: drag.view.x0 - dx, x1: drag.view.x1 - dx, y0: drag.view.y0 + dy, y1: drag.view.y1 + dy }; // prettier-ignore
      return this.schedule(() => this.draw());
    }
    const last = drag.xs.length - 1;
    if (drag.mode === "lasso" && Math.hypot(px - drag.xs[last], py - drag.ys[last]) < 3 * this.ratio) return;
    if (drag.mode !== "lasso" && last > 0) {
      drag.xs[last] = px;
      drag.ys[last] = py;
    } else {
      drag.xs.push(px);
      drag.ys.push(py);
    }
    this.schedule(() => this.drawOverlay());
  }

  up(event) {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    const [px, py] = this.at(event);
    if (drag.mode === "pan") return;
    if (drag.mode !== "lasso") {
      drag.xs = [drag.xs[0], px];
      drag.ys = [drag.ys[0], py];
    }
    const wide = Math.abs(Math.max(...drag.xs) - Math.min(...drag.xs)) > 3 * this.ratio;
    const tall = Math.abs(Math.max(...drag.ys) - Math.min(...drag.ys)) > 3 * this.ratio;
    if (!wide || !tall || (drag.mode === "lasso" && drag.xs.length < 3)) {
      this.drawOverlay(); // a click, not a region
      return;
    }
    if (drag.mode === "zoom") {
      const [x0, x1] = [this.mx(Math.min(...drag.xs)), this.mx(Math.max(...drag.xs))];
      const [y0, y1] = [this.my(Math.max(...drag.ys)), this.my(Math.min(...drag.ys))];
      this.view = { x0, x1, y0, y1 };
      return this.draw();
    }
    const step = Math.ceil(drag.xs.length / MAX_VERTICES); // a long lasso, thinned
    const kept = drag.xs.map((_, k) => k).filter((k) => k % step === 0);
    this.region = {
      map: this.mapId,
      kind: drag.mode,
      x: kept.map((k) => this.mx(drag.xs[k])),
      y: kept.map((k) => this.my(drag.ys[k])),
    };
    this.select(this.region);
  }

  select(region) {
    this.pending = true;
    this.root.dataset.selection = JSON.stringify(region);
    this.drawOverlay();
    this.status.textContent += " · selecting…";
    const holds = HELD.has(this.data.key) ? this.data.key : null;
    this.send("select", { region, holds });
  }

  clearSelection() {
    if (!this.points) return;
    this.region = null;
    this.select(null);
  }

  resetView() {
    if (!this.points) return;
    this.view = { ...this.points.extent };
    this.draw();
  }

  schedule(work) {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      work();
    });
  }

  // --- hover ---

  nearest(px, py) {
    const { cols, rows, start, order } = this.index;
    const { x, y } = this.points;
    const cx = Math.floor(px / CELL), cy = Math.floor(py / CELL); // prettier-ignore
    let best = -1;
    let bestDistance = (6 * this.ratio) ** 2;
    for (let r = Math.max(0, cy - 1); r <= Math.min(rows - 1, cy + 1); r++) {
      for (let k = Math.max(0, cx - 1); k <= Math.min(cols - 1, cx + 1); k++) {
        const cell = r * cols + k;
        for (let j = start[cell]; j < start[cell + 1]; j++) {
          const i = order[j];
          const d = (this.sx(x[i]) - px) ** 2 + (this.sy(y[i]) - py) ** 2;
          if (d <= bestDistance) {
            bestDistance = d;
            best = i; // later points are drawn on top: they win ties
          }
        }
      }
    }
    return best;
  }

  hover(px, py) {
    if (!this.index) return;
    const i = this.nearest(px, py);
    if (i < 0) return this.hideTip();
    const p = this.points;
    const parts = [`#${p.id[i]}`, `severity ${p.severity[i].toFixed(3)}`];
    if (p.grade) {
      const grade = p.grade.get(i);
      parts.push(grade === null ? "no grade" : `grade ${grade}`);
    }
    if (p.patient) parts.push(String(p.patient.get(i)));
    this.tip.textContent = parts.join(" · ");
    this.tip.hidden = false;
    const left = Math.min(px / this.ratio + 12, this.stage.clientWidth - this.tip.offsetWidth - 4);
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${Math.max(0, py / this.ratio - 30)}px`;
  }

  hideTip() {
    this.tip.hidden = true;
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!parentElement.__severityMap) parentElement.__severityMap = new MapView(parentElement);
  const view = parentElement.__severityMap;
  view.pending = false;
  view.update(data, setTriggerValue);
  return view.cleanup;
}
