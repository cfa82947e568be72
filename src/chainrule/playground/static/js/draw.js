// Drawing what the server sent: the network diagram, each unit's small picture, the main plot
// (the decision boundary, the fitted curve, or one unit's output) and the loss curves. Every
// function draws what it is given; nothing here reads the page's state or computes the math.
import { fmt } from "./format.js";
import { t } from "./words.js";

export const COLORS = ["#e8743b", "#2b7bb9", "#3ba272"];  // class 0, 1, 2 (and weight sign: -, +)
const SVG = "http://www.w3.org/2000/svg";
const FONT = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
// the picture's plot area inside its 320×310 canvas: room for the axes' names and ticks
const PLOT = { l: 38, t: 18, r: 300, b: 288 };

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

export const sameUnit = (a, b) => Boolean(a && b && a.layer === b.layer && a.unit === b.unit);

// The learner's numbering: the input, hidden layer 1…k, the output; unit 1… of each; an input
// named by its feature (`features`: the server's feature names and labels). Column c of the
// diagram is made by Dense layer c − 1 (0-based).
export function unitName(net, features, column, j) {
  const last = net.sizes.length - 1;
  if (column === 0) return features[net.features[j]].label;
  if (column === last) return net.sizes[last] === 1 ? t("unit.output_only") : t("unit.output", { unit: j + 1 });
  return t("unit.hidden", { k: column, unit: j + 1 });
}

function layerName(net, column) {
  const last = net.sizes.length - 1;
  return column === 0 ? t("layer.input") : column === last ? t("layer.output") : t("layer.hidden", { k: column });
}

// The diagram of `net` (the server's network) in `svg`. `view`: the selected unit and
// connection, the unit under the pointer, the features' labels and the replayed ledger entry;
// `on`: what a click on a unit or a connection, and the pointer entering or leaving a unit, do.
export function drawNetwork(svg, net, view, on) {
  const sizes = net.sizes, name = (k, j) => unitName(net, view.features, k, j);
  svg.replaceChildren();
  const width = 520, height = 300, top = 40;
  const xs = sizes.map((_, i) => 70 + (i * (width - 110)) / Math.max(1, sizes.length - 1));
  const y = (n, j) => top + ((j + 0.5) * (height - top - 10)) / n;
  let biggest = 1e-12;
  for (const layer of net.layers) for (const row of layer.W) for (const w of row) biggest = Math.max(biggest, Math.abs(w));
  const edges = el("g", {}, svg), edge = view.edge;
  net.layers.forEach((layer, k) => {
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      const line = el("line", { x1: xs[k], y1: y(sizes[k], i), x2: xs[k + 1], y2: y(sizes[k + 1], j),
        stroke: w >= 0 ? COLORS[1] : COLORS[0], "stroke-width": (0.4 + 5 * Math.abs(w) / biggest).toFixed(2),
        "stroke-opacity": (0.25 + 0.75 * Math.abs(w) / biggest).toFixed(2), "data-dense": k, class: "weight" }, edges);
      if (edge && edge.dense === k && edge.i === i && edge.j === j) line.classList.add("selected");
      // a wide transparent twin catches the click on a thin line
      const hit = el("line", { x1: xs[k], y1: y(sizes[k], i), x2: xs[k + 1], y2: y(sizes[k + 1], j),
        class: "edge", "data-dense": k, "data-i": i, "data-j": j }, edges);
      el("title", {}, hit).textContent = t("tip.weight", { from: name(k, i), to: name(k + 1, j), w: fmt(w) });
      hit.addEventListener("click", () => on.edge({ dense: k, i, j }));
    }));
  });
  sizes.forEach((n, k) => {
    const last = k === sizes.length - 1, anchor = k === 0 ? "start" : last ? "end" : "middle";
    const x = xs[k] + (k === 0 ? -40 : last ? 14 : 0);
    el("text", { x, y: 13, "text-anchor": anchor, class: "head" }, svg).textContent = layerName(net, k);
    const what = k === 0 ? "" : last ? t(`out_fn.${net.output}`) : t(`activation_short.${net.activation}`);
    el("text", { x, y: 25, "text-anchor": anchor, class: "sub" }, svg).textContent = what;
    for (let j = 0; j < n; j++) drawUnit(svg, net, { layer: k, unit: j }, [xs[k], y(n, j)], view, on);
  });
  highlight(svg, net, view.entry);
}

function drawUnit(svg, net, unit, [cx, cy], view, on) {
  const { layer: k, unit: j } = unit, last = k === net.sizes.length - 1;
  const g = el("g", { class: "node", "data-layer": k, "data-unit": j }, svg);
  if (sameUnit(view.selected, unit)) g.classList.add("selected");
  if (sameUnit(view.hovered, unit)) g.classList.add("hovered");
  const b = k > 0 ? net.layers[k - 1].b[j] : 0, border = k === 0 ? "#555" : b >= 0 ? COLORS[1] : COLORS[0];
  if (net.maps && net.maps_kind === "curve") {
    // a 1-D data set: the unit's value along x, as a small curve
    el("rect", { x: cx - 13, y: cy - 13, width: 26, height: 26, fill: "#fff", class: "frame", stroke: border }, g);
    el("path", { d: unitCurve(net.maps[k][j], cx, cy), class: "curve" }, g);
  } else if (net.maps) {
    // the unit's output over the input plane; its border: the sign of its bias
    const map = unitCanvas(net.maps[k][j], net.centres[k]).toDataURL();
    el("image", { href: map, x: cx - 13, y: cy - 13, width: 26, height: 26, preserveAspectRatio: "none", class: "map" }, g);
    el("rect", { x: cx - 13, y: cy - 13, width: 26, height: 26, fill: "none", class: "frame", stroke: border }, g);
  } else {
    el("circle", { cx, cy, r: 12, fill: k === 0 ? "#eee" : b >= 0 ? "#d6e6f3" : "#fae0d2" }, g);
  }
  const name = unitName(net, view.features, k, j);
  el("text", { x: cx - (k === 0 ? 16 : 0), y: cy + 3.5, "text-anchor": k === 0 ? "end" : "middle" }, g)
    .textContent = k === 0 ? name : net.maps ? "" : `${j + 1}`;
  el("title", {}, g).textContent = k === 0 ? t("tip.input_unit", { feature: name }) : t("tip.unit", { name, b: fmt(b) });
  g.addEventListener("click", () => on.unit(unit));
  // hovering a unit shows its output full size in the main plot; leaving it, the selected
  // unit's (or the network's output)
  g.addEventListener("mouseenter", () => { g.classList.add("hovered"); on.enter(unit); });
  g.addEventListener("mouseleave", () => { g.classList.remove("hovered"); on.leave(unit); });
}

// Light the units (and, for a Dense entry, the connections) of the layer whose ledger entry
// `entry` is (none: nothing lit).
export function highlight(svg, net, entry) {
  for (const node of svg.querySelectorAll(".lit")) node.classList.remove("lit", "forward", "backward", "loss", "update");
  svg.classList.toggle("replaying", Boolean(entry));
  if (!entry || !net) return;
  // Dense layer k (and the activation after it) makes the units of diagram column k + 1
  const column = entry.dense === null ? net.sizes.length - 1 : entry.dense + 1;
  const lit = Array.from(svg.querySelectorAll(`.node[data-layer="${column}"]`));
  if (entry.dense !== null && ["W", "dW"].some((name) => name in entry.values && !(name in entry.borrowed)))
    lit.push(...svg.querySelectorAll(`line.weight[data-dense="${entry.dense}"]`));
  for (const node of lit) node.classList.add("lit", entry.kind);
}

// A unit's small curve inside its square: its values along x, scaled to fill the square.
function unitCurve(values, cx, cy) {
  let low = Infinity, high = -Infinity;
  for (const v of values) if (v !== null) { low = Math.min(low, v); high = Math.max(high, v); }
  const span = Math.max(high - low, 1e-9), n = values.length;
  return values.map((v, i) => `${i && values[i - 1] !== null ? "L" : "M"}${(cx - 11 + (22 * i) / (n - 1)).toFixed(1)},` +
    `${(cy + 11 - (22 * ((v ?? low) - low)) / span).toFixed(1)}`).join("");
}

// A unit's map as an image: blue where its output is above `centre` (the server's: 0, or
// chance level for a probability output), orange below, scaled by the largest deviation over
// the plane (so each small map uses its full range).
function unitCanvas(values, centre) {
  const n = Math.round(Math.sqrt(values.length)), canvas = document.createElement("canvas");
  canvas.width = canvas.height = n;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(n, n);
  let biggest = 1e-9;
  for (const v of values) if (v !== null) biggest = Math.max(biggest, Math.abs(v - centre));
  values.forEach((v, i) => {
    const s = v === null ? 0 : (v - centre) / biggest;
    const [r, g, b] = classColor(s >= 0 ? 1 : 0, Math.abs(s) * 0.85);
    image.data.set([r, g, b, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function classColor(c, alpha) {
  const hex = COLORS[c % COLORS.length];
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return rgb.map((v) => Math.round(255 + (v - 255) * alpha));
}

// Axes around a plot area: ticks with labels on the left and bottom, the y axis's name above
// it and the x axis's after its end, all inside the canvas and outside the plot area.
function drawAxes(ctx, area, xRange, yRange, [xTicks, yTicks], [xName, yName]) {
  const { l, t: top, r, b } = area;
  const px = (x) => l + ((x - xRange[0]) / (xRange[1] - xRange[0])) * (r - l);
  const py = (v) => b - ((v - yRange[0]) / (yRange[1] - yRange[0])) * (b - top);
  ctx.strokeStyle = "#888"; ctx.fillStyle = "#555"; ctx.lineWidth = 1; ctx.font = `10px ${FONT}`;
  ctx.beginPath(); ctx.moveTo(l, top); ctx.lineTo(l, b); ctx.lineTo(r, b); ctx.stroke();
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const x of xTicks) {
    ctx.beginPath(); ctx.moveTo(px(x), b); ctx.lineTo(px(x), b + 4); ctx.stroke();
    ctx.fillText(fmt(x, 3), px(x), b + 5);
  }
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of yTicks) {
    ctx.beginPath(); ctx.moveTo(l - 4, py(v)); ctx.lineTo(l, py(v)); ctx.stroke();
    ctx.fillText(fmt(v, 3), l - 5, py(v));
  }
  ctx.font = `italic 11px ${FONT}`;
  ctx.textAlign = "left"; ctx.textBaseline = "middle"; ctx.fillText(xName, r + 4, b);
  ctx.textAlign = "center"; ctx.textBaseline = "bottom"; ctx.fillText(yName, l, top - 3);
  ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
  return { px, py };
}

// Round values across [lo, hi], at most about 8: steps of 1, 2 or 5 times a power of ten.
function niceTicks(lo, hi) {
  const rough = (hi - lo) / 6, power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= rough);
  const out = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + 1e-9 * step; k++) out.push(Number((k * step).toPrecision(6)));
  return out;
}

// The main plot in `canvas`: `pic`, the network's output (its decision boundary or fitted
// curve) or one unit's (`unit`: true), with `points` over it. `how`: `regression`, whether
// to show the validation points (`showVal`) and to discretize the boundary (`discrete`).
export function drawPicture(canvas, pic, points, how) {
  const ctx = canvas.getContext("2d"), { unit, regression } = how;
  const [x0, x1, y0, y1] = pic.frame, { l, t: top, r, b } = PLOT;
  const px = (x) => l + ((x - x0) / (x1 - x0)) * (r - l), py = (v) => b - ((v - y0) / (y1 - y0)) * (b - top);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (pic.kind === "grid") {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(unit ? unitCanvas(pic.values, pic.centre) : boundaryTile(pic, how.discrete), l, top, r - l, b - top);
  } else {
    ctx.strokeStyle = "#ccc";
    ctx.beginPath(); ctx.moveTo(l, py(0)); ctx.lineTo(r, py(0)); ctx.moveTo(px(0), top); ctx.lineTo(px(0), b); ctx.stroke();
  }
  drawAxes(ctx, PLOT, [x0, x1], [y0, y1], [niceTicks(x0, x1), niceTicks(y0, y1)],
           regression ? ["x", unit ? "a" : "y"] : ["x₁", "x₂"]);
  ctx.save();
  ctx.beginPath(); ctx.rect(l, top, r - l, b - top); ctx.clip();
  if (points && !(unit && regression)) drawPoints(ctx, [px, py], points, how);
  if (pic.kind === "curve") {
    ctx.strokeStyle = COLORS[1]; ctx.lineWidth = 2.5;
    ctx.beginPath();
    pic.x.forEach((x, i) => (i ? ctx.lineTo(px(x), py(pic.y[i])) : ctx.moveTo(px(x), py(pic.y[i]))));
    ctx.stroke();
  }
  ctx.restore();
}

// The decision boundary as a tile: each cell its class, paler where the network is unsure
// (the server's chance level shows white), or at full strength when discretized.
function boundaryTile(pic, discrete) {
  const n = pic.size, tile = document.createElement("canvas"), chance = pic.chance;
  tile.width = tile.height = n;
  const image = tile.getContext("2d").createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const strength = discrete ? 1 : Math.max(0, (pic.confidence[i] - chance) / (1 - chance));
    const [red, green, blue] = classColor(pic.label[i], 0.15 + 0.55 * strength);
    image.data.set([red, green, blue, 255], 4 * i);
  }
  tile.getContext("2d").putImageData(image, 0, 0);
  return tile;
}

function drawPoints(ctx, [px, py], points, { regression, showVal }) {
  const parts = showVal ? [["train", false], ["val", true]] : [["train", false]];
  for (const [part, hollow] of parts) {
    const { X, y } = points[part];
    X.forEach((row, i) => {
      ctx.beginPath();
      ctx.arc(px(row[0]), regression ? py(y[i]) : py(row[1]), 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = regression ? "#555" : COLORS[y[i] % COLORS.length]; ctx.fill();
      ctx.strokeStyle = hollow ? "#111" : "#fff"; ctx.lineWidth = 1; ctx.stroke();
    });
  }
}

// The loss curves (`history`: the server's steps, training and validation losses).
export function drawLoss(canvas, history) {
  const ctx = canvas.getContext("2d"), h = history;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const values = [...h.loss, ...h.val_loss].filter((v) => v !== null && isFinite(v));
  const top = Math.max(1e-9, ...values), last = h.step[h.step.length - 1] || 1;
  const area = { l: 44, t: 18, r: canvas.width - 34, b: canvas.height - 20 };
  const { px, py } = drawAxes(ctx, area, [0, last], [0, top],
                              [[0, last / 2, last].map((v) => Math.round(v)), [0, top / 2, top]],
                              [t("axis.step"), t("axis.loss")]);
  for (const [key, color] of [["val_loss", COLORS[0]], ["loss", "#222"]]) {
    ctx.strokeStyle = color; ctx.lineWidth = 1.6; ctx.beginPath();
    let started = false;
    h[key].forEach((v, i) => {
      if (v === null) { started = false; return; }
      if (started) ctx.lineTo(px(h.step[i]), py(v)); else ctx.moveTo(px(h.step[i]), py(v));
      started = true;
    });
    ctx.stroke();
  }
}
