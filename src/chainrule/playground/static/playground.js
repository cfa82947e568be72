// chainrule playground: this page only draws. Every number comes from the server, which
// trains a real chainrule network; nothing of the math is computed here (a connection's
// chain rule, Σ a·δ over the batch, is summed by the server too: /api/connection).
// Every word comes from the tables static/words.<lang>.json, filled by t(); the limits,
// defaults and menu choices come from /api/options.
"use strict";

const $ = (id) => document.getElementById(id);
const FRAME_MS = 120;            // at most ~8 screen updates a second while playing
const COLORS = ["#e8743b", "#2b7bb9", "#3ba272"];  // class 0, 1, 2 (and weight sign: -, +)
const SVG = "http://www.w3.org/2000/svg";
const FIELDS = ["dataset", "noise", "size", "seed", "validation", "features", "hidden", "activation",
                "output", "optimizer", "lr", "batch_size", "l1", "l2", "dropout"];
const MENUS = { activation: "activation", optimizer: "optimizer", output: "output" };

// -- words -----------------------------------------------------------------------------

let lang = "en";
const words = {};                // words[lang]: that language's table (key -> template)

// A template filled as the server's words.fill does: {name} by args.name, {name|kind} by the
// table's word for kind.<value>; a list joined by the table's separator.
function fill(template, args, table) {
  return template.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, kind) => {
    const one = (v) => (kind ? table[`${kind}.${v}`] ?? String(v) : String(v));
    const value = args[name];
    if (value === undefined) throw new Error(`the word ${template} needs ${name}`);
    return Array.isArray(value) ? value.map(one).join(table["list.separator"]) : one(value);
  });
}

function t(key, args = {}) {
  const table = words[lang];
  if (!(key in table)) throw new Error(`no word ${key} in ${lang}`);
  return fill(table[key], args, table);
}

// "1 step" / "10 steps": a count's word (key.one or key.other).
const tn = (key, n, args = {}) => t(`${key}.${n === 1 ? "one" : "other"}`, { n, ...args });

// Every marked element gets its word; menus, panels and plots are drawn again in the language.
function applyLanguage() {
  document.documentElement.lang = t("page.lang_tag");
  document.title = t("page.title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-t-title]")) node.title = t(node.dataset.tTitle);
  for (const node of document.querySelectorAll("[data-t-aria]")) node.setAttribute("aria-label", t(node.dataset.tAria));
  $("csv-button").title = t("tip.csv", { lo: options.upload.rows[0], hi: options.upload.rows[1] });
  for (const option of $("dataset").options) option.textContent = datasetName(option.value);
  for (const [id, kind] of Object.entries(MENUS))
    for (const option of $(id).options) option.textContent = t(`${kind}.${option.value}`);
  for (const option of $("speed").options) option.textContent = tn("speed", Number(option.value));
  for (const option of $("dropout").options)
    option.textContent = Number(option.value) === 0 ? t("dropout.none") : option.value;
  for (const box of document.querySelectorAll("#features input")) featureTip(box);
  $("csv-name").textContent = uploadedRows === null ? "" : t("upload.loaded", { rows: uploadedRows });
  drawUnitsControl();
  setPlaying(playing);
  setReplaying(replaying);
  showLedger(!$("ledger").hidden);
  if (ledger) {  // the ledger's own words come from the server in every language
    const open = !$("ledger").hidden;
    renderLedger();
    showLedger(open);
    if (replay !== null) replayTo(replay);
  }
  if (statusWords) say(statusWords.key, statusWords.args, statusWords.error);
  if (state) render(state);
  renderUnit();
  renderEdge();
}

function datasetName(name) {
  return name === "upload" ? t("dataset.upload_rows", { rows: uploadedRows ?? 0 }) : t(`dataset.${name}`);
}

// -- the page's state ------------------------------------------------------------------

let lastGood = null;             // the settings of the run on screen: a refused change returns to them

// One session per tab: made here, sent with every request, freed when the tab goes.
const session = Array.from(crypto.getRandomValues(new Uint8Array(12)),
                           (b) => b.toString(16).padStart(2, "0")).join("");
let options = null, state = null, points = null, ledger = null, weight = null;
let playing = false, busy = false, selected = null, edge = null;
let hovered = null;              // the unit under the pointer: {layer, unit}
let unitView = null;             // the full-size picture of the unit shown in the main plot
let unitAsked = null;            // the unit whose picture is being fetched
let uploadedRows = null;         // the rows of the CSV the run on screen trained on, if any
let statusWords = null;          // the status line's key and arguments (redrawn in a new language)
let loops = 0;                   // the newest play loop's number: an older loop stops
let pending = Promise.resolve();  // the play loop's request in flight, if any
let generation = 0;              // bumped by every reset: late answers for an old run are dropped

// -- talking to the server -----------------------------------------------------------

// A refusal from the server: its message key and arguments, worded in the page's language.
class Refused extends Error {
  constructor(json, status) {
    super(json.error || String(status));
    this.key = json.key; this.args = json.args || {};
  }
}

async function api(method, path, body, query = {}) {
  const init = { method, headers: { "Content-Type": "application/json" } };
  let url = path;
  if (method === "GET") url += `?${new URLSearchParams({ session, ...query })}`;
  else init.body = JSON.stringify({ session, ...body });
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new Refused({ key: "status.offline" });
  }
  const json = await response.json().catch(() => ({ key: "status.http", args: { status: response.status } }));
  if (!response.ok) throw new Refused(json, response.status);
  return json;
}

// The words of an error: the server's (or the page's own) message in the page's language.
const spoken = (error) => (error.key ? { key: error.key, args: error.args || {} }
                                     : { key: "status.page_failed", args: { reason: error.message } });

function say(key, args = {}, error = false) {
  statusWords = key ? { key, args, error } : null;
  $("status").textContent = key ? t(key, wordArgs(args)) : "";
  $("status").className = error ? "error" : "";
}

// Arguments that are themselves messages ({key, args}) are worded first.
function wordArgs(args) {
  return Object.fromEntries(Object.entries(args).map(([k, v]) =>
    [k, v && typeof v === "object" && "key" in v ? t(v.key, wordArgs(v.args || {})) : v]));
}

// -- the settings ------------------------------------------------------------------------

function hiddenSizes() {
  const text = $("hidden").value.trim();
  return text === "" ? [] : text.split(/[\s,]+/).filter(Boolean).map(Number);
}

function readConfig() {
  return {
    dataset: $("dataset").value, noise: Number($("noise").value), size: Number($("size").value),
    seed: Number($("seed").value), hidden: hiddenSizes(), activation: $("activation").value,
    output: $("output").value, optimizer: $("optimizer").value, lr: Number($("lr").value),
    batch_size: Number($("batch_size").value), validation: Number($("validation").value),
    l1: Number($("l1").value), l2: Number($("l2").value), dropout: Number($("dropout").value),
    // x₂'s features are unticked when off, and the last one ticked is disabled but counts
    features: Array.from(document.querySelectorAll("#features input:checked"), (box) => box.value),
  };
}

// The feature toggles: a data set with one input column turns x₂'s features off (and unticks
// them, remembering the choice for a 2-D set), and the last feature ticked cannot be unticked.
function updateFeatureToggles() {
  const columns = options.datasets[$("dataset").value].features;
  for (const box of document.querySelectorAll("#features input")) {
    const off = options.features[box.value].columns > columns;
    if (off && !box.disabled) box.dataset.wanted = String(box.checked);
    if (!off && box.dataset.wanted !== undefined) { box.checked = box.dataset.wanted === "true"; delete box.dataset.wanted; }
    if (off) box.checked = false;
    box.dataset.off = String(off);
  }
  const on = document.querySelectorAll("#features input:checked");
  if (on.length === 0) document.querySelector("#features input").checked = true;  // x₁
  for (const box of document.querySelectorAll("#features input")) {
    const last = box.checked && document.querySelectorAll("#features input:checked").length === 1;
    box.disabled = box.dataset.off === "true" || last;
    box.dataset.last = String(last);
    box.parentElement.classList.toggle("off", box.dataset.off === "true");
    featureTip(box);
  }
}

function featureTip(box) {
  box.parentElement.title = box.dataset.off === "true" ? t("tip.feature_x2", { dataset: $("dataset").value })
    : box.dataset.last === "true" ? t("tip.feature_last") : t("tip.feature", { feature: options.features[box.value].label });
}

// Hidden layers and their units, chosen with ± within the server's limits (never a refused size).
function drawUnitsControl() {
  if (!options) return;
  const sizes = hiddenSizes(), [lo, hi] = options.limits.units, [fewest, most] = options.limits.layers;
  $("layers-count").textContent = sizes.length;
  $("layers-minus").disabled = sizes.length <= fewest;
  $("layers-plus").disabled = sizes.length >= most;
  $("units").innerHTML = sizes.map((n, k) => `<div class="row unit-row"><span>${escapeHtml(t("label.units", { k: k + 1 }))}</span>
    <span class="stepper"><button type="button" class="pm" data-layer="${k}" data-by="-1" ${n <= lo ? "disabled" : ""}
      title="${escapeHtml(t("tip.unit_minus", { k: k + 1 }))}">−</button>
    <b data-units="${k}">${n}</b>
    <button type="button" class="pm" data-layer="${k}" data-by="1" ${n >= hi ? "disabled" : ""}
      title="${escapeHtml(t("tip.unit_plus", { k: k + 1 }))}">+</button></span></div>`).join("");
}

function changeHidden(sizes) {
  $("hidden").value = sizes.join(", ");
  drawUnitsControl();
  configure();
}

// Put settings into the form (from the URL, or back to the last good ones).
function writeConfig(config) {
  for (const key of FIELDS) {
    if (!(key in config)) continue;
    if (key === "features") {
      // a list, a comma-separated string (from the URL), or null: the data's own columns
      const on = config.features === null ? ["x1", "x2"] : [].concat(config.features).join(",").split(",");
      for (const box of document.querySelectorAll("#features input")) { box.checked = on.includes(box.value); delete box.dataset.wanted; }
    } else if (key === "dataset" && !(config.dataset in options.datasets)) {
      // a link or a reload naming points this tab no longer has (uploads live with a tab's
      // session, on the server): the data set stays as it is, and start() says why
      continue;
    } else {
      $(key).value = key === "hidden" ? [].concat(config.hidden).join(", ") : config[key];
    }
  }
  updateFeatureToggles();
  drawUnitsControl();
  showOutputs();
}

function showOutputs() {
  $("noise-out").textContent = Number($("noise").value).toFixed(2);
  $("validation-out").textContent = `${Math.round(100 * Number($("validation").value))}%`;
}

// The setup in the URL's fragment, so that a reload or a shared link restores it.
function configFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1)), config = {};
  for (const key of FIELDS) if (params.has(key)) config[key] = params.get(key);
  return config;
}

function writeUrl(config) {
  const params = new URLSearchParams();
  for (const key of FIELDS) params.set(key, Array.isArray(config[key]) ? config[key].join(",") : config[key]);
  params.set("lang", lang);
  history.replaceState(null, "", `#${params}`);
}

// -- runs ----------------------------------------------------------------------------------

async function configure() {
  setPlaying(false);
  showOutputs();
  busy = true;
  generation += 1;
  try {
    const asked = readConfig();
    let result;
    try {
      result = await api("POST", "/api/configure", asked);
    } catch (error) {
      if (lastGood) writeConfig(lastGood);  // the form shows the run that is still on screen
      say("status.went_back", { message: spoken(error) }, true);
      return;
    }
    if (asked.dataset !== "upload") uploadedRows = null;
    startRun(asked, result);
    say(null);
  } finally {
    busy = false;
  }
}

// A new run on screen: its settings in the URL, its points, no ledger yet.
function startRun(asked, result) {
  lastGood = asked;
  writeUrl(asked);
  points = result.data;
  ledger = null; selected = null; edge = null; weight = null;
  stopReplay();
  showLedger(false);
  render(result);
}

async function loop(token) {
  const run = generation;
  while (playing && token === loops) {
    const started = performance.now();
    try {
      const request = api("POST", "/api/train", { steps: Number($("speed").value) });
      pending = request.catch(() => null);
      const result = await request;
      if (run !== generation) break;               // reset while the request was out: an old run
      if (result.step >= state.step) render(result); // paused meanwhile: still the server's latest
      if (!playing || token !== loops) break;
    } catch (error) {
      const words = spoken(error);
      say(words.key, words.args, true);
      setPlaying(false);
      break;
    }
    if (state.diverged) setPlaying(false);
    await new Promise((r) => setTimeout(r, Math.max(0, FRAME_MS - (performance.now() - started))));
  }
}

// Play trains on and so ends the replay of the last Step: its ledger stays, named by its step.
function setPlaying(on) {
  playing = on;
  $("play").textContent = on ? `❚❚ ${t("button.pause")}` : `▶ ${t("button.play")}`;
  $("play").title = t(on ? "tip.pause" : "tip.play");
  $("play").setAttribute("aria-pressed", String(on));
  if (on) {
    if (replay !== null || replaying) stopReplay();
    loop(++loops);
  }
}

async function step() {
  if (busy) return;
  setPlaying(false);
  busy = true;
  try {
    await pending;  // a Step pressed mid-play comes after the training request already out
    const result = await api("POST", "/api/step", {});
    render(result);
    if (result.ledger) {
      ledger = result.ledger;
      stopReplay();          // a new Step ends the replay of the one before
      renderLedger();
      renderUnit();
      await fetchEdge();
    }
  } catch (error) {
    const words = spoken(error);
    say(words.key, words.args, true);
  } finally {
    busy = false;
  }
}

// -- drawing ---------------------------------------------------------------------------

function fmt(x, digits = 4) {
  if (x === null || x === undefined) return "—";
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : x.toPrecision(digits).replace(/\.?0+$/, "");
}

function render(s) {
  state = s;
  $("step-count").textContent = s.step;
  $("epoch-count").textContent = s.epoch;
  if (s.diverged) say("status.diverged", { step: s.diverged_at }, true);
  drawNetwork();
  drawPicture();
  drawLoss();
  if (viewedUnit()) fetchUnitView();  // the unit shown follows the training
  renderEdge();
  const m = s.metrics;
  const rows = [["", t("legend.training"), t("legend.validation")], [t("metric.loss"), fmt(m.loss), fmt(m.val_loss)]];
  if ("accuracy" in m) rows.push([t("metric.accuracy"), fmt(m.accuracy, 3), fmt(m.val_accuracy, 3)]);
  $("metrics").innerHTML = rows.map((r, i) =>
    `<tr>${r.map((c, j) => (i === 0 || j === 0 ? `<th>${c}</th>` : `<td>${c}</td>`)).join("")}</tr>`).join("");
  $("metrics").dataset.loss = m.loss;
  $("metrics").dataset.step = s.step;
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// The learner's numbering: the input, hidden layer 1…k, the output; unit 1… of each; an input
// named by its feature. Column c of the diagram is made by Dense layer c − 1 (0-based).
function unitName(column, j) {
  const net = state.network, last = net.sizes.length - 1;
  if (column === 0) return options.features[net.features[j]].label;
  if (column === last) return net.sizes[last] === 1 ? t("unit.output_only") : t("unit.output", { unit: j + 1 });
  return t("unit.hidden", { k: column, unit: j + 1 });
}

function layerName(column) {
  const last = state.network.sizes.length - 1;
  return column === 0 ? t("layer.input") : column === last ? t("layer.output") : t("layer.hidden", { k: column });
}

function drawNetwork() {
  const svg = $("network"), net = state.network, sizes = net.sizes;
  svg.replaceChildren();
  const width = 520, height = 300, top = 40;
  const xs = sizes.map((_, i) => 70 + (i * (width - 110)) / Math.max(1, sizes.length - 1));
  const y = (n, j) => top + ((j + 0.5) * (height - top - 10)) / n;
  let biggest = 1e-12;
  for (const layer of net.layers) for (const row of layer.W) for (const w of row) biggest = Math.max(biggest, Math.abs(w));
  const edges = el("g", {}, svg);
  net.layers.forEach((layer, k) => {
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      const line = el("line", { x1: xs[k], y1: y(sizes[k], i), x2: xs[k + 1], y2: y(sizes[k + 1], j),
        stroke: w >= 0 ? COLORS[1] : COLORS[0], "stroke-width": (0.4 + 5 * Math.abs(w) / biggest).toFixed(2),
        "stroke-opacity": (0.25 + 0.75 * Math.abs(w) / biggest).toFixed(2), "data-dense": k, class: "weight" }, edges);
      if (edge && edge.dense === k && edge.i === i && edge.j === j) line.classList.add("selected");
      // a wide transparent twin catches the click on a thin line
      const hit = el("line", { x1: xs[k], y1: y(sizes[k], i), x2: xs[k + 1], y2: y(sizes[k + 1], j),
        class: "edge", "data-dense": k, "data-i": i, "data-j": j }, edges);
      el("title", {}, hit).textContent = t("tip.weight", { from: unitName(k, i), to: unitName(k + 1, j), w: fmt(w) });
      hit.addEventListener("click", () => { edge = { dense: k, i, j }; selected = null; drawNetwork(); renderUnit(); fetchEdge(); });
    }));
  });
  sizes.forEach((n, k) => {
    const last = k === sizes.length - 1, anchor = k === 0 ? "start" : last ? "end" : "middle";
    const x = xs[k] + (k === 0 ? -40 : last ? 14 : 0);
    el("text", { x, y: 13, "text-anchor": anchor, class: "head" }, svg).textContent = layerName(k);
    const what = k === 0 ? "" : last ? t(`out_fn.${net.output}`) : t(`activation_short.${net.activation}`);
    el("text", { x, y: 25, "text-anchor": anchor, class: "sub" }, svg).textContent = what;
    for (let j = 0; j < n; j++) drawUnit(svg, net, k, j, xs[k], y(n, j), last);
  });
  highlight();
}

function drawUnit(svg, net, k, j, cx, cy, last) {
  const g = el("g", { class: "node", "data-layer": k, "data-unit": j }, svg);
  if (selected && selected.layer === k && selected.unit === j) g.classList.add("selected");
  if (sameUnit(hovered, { layer: k, unit: j })) g.classList.add("hovered");
  const b = k > 0 ? net.layers[k - 1].b[j] : 0;
  const map = net.maps && net.maps_kind === "grid" ? unitImage(net.maps[k][j], last ? outputCentre(net) : 0) : null;
  if (net.maps && net.maps_kind === "curve") {
    // a 1-D data set: the unit's value along x, as a small curve
    el("rect", { x: cx - 13, y: cy - 13, width: 26, height: 26, fill: "#fff",
                 class: "frame", stroke: k === 0 ? "#555" : b >= 0 ? COLORS[1] : COLORS[0] }, g);
    el("path", { d: unitCurve(net.maps[k][j], cx, cy), class: "curve" }, g);
  } else if (map) {
    // the unit's output over the input plane; its border: the sign of its bias
    el("image", { href: map, x: cx - 13, y: cy - 13, width: 26, height: 26, preserveAspectRatio: "none", class: "map" }, g);
    el("rect", { x: cx - 13, y: cy - 13, width: 26, height: 26, fill: "none",
                 class: "frame", stroke: k === 0 ? "#555" : b >= 0 ? COLORS[1] : COLORS[0] }, g);
  } else {
    el("circle", { cx, cy, r: 12, fill: k === 0 ? "#eee" : b >= 0 ? "#d6e6f3" : "#fae0d2" }, g);
  }
  el("text", { x: cx - (k === 0 ? 16 : 0), y: cy + 3.5, "text-anchor": k === 0 ? "end" : "middle" }, g)
    .textContent = k === 0 ? unitName(0, j) : net.maps ? "" : `${j + 1}`;
  el("title", {}, g).textContent = k === 0 ? t("tip.input_unit", { feature: unitName(0, j) })
    : t("tip.unit", { name: unitName(k, j), b: fmt(b) });
  g.addEventListener("click", () => {
    selected = { layer: k, unit: j }; edge = null; weight = null;
    drawNetwork(); renderUnit(); renderEdge(); fetchUnitView();
  });
  // hovering a unit shows its output full size in the main plot; leaving it, the selected
  // unit's (or the network's output)
  g.addEventListener("mouseenter", () => { hovered = { layer: k, unit: j }; g.classList.add("hovered"); fetchUnitView(); });
  g.addEventListener("mouseleave", () => { hovered = null; g.classList.remove("hovered"); fetchUnitView(); });
}

// A unit's small curve inside its square: its values along x, scaled to fill the square.
function unitCurve(values, cx, cy) {
  let low = Infinity, high = -Infinity;
  for (const v of values) if (v !== null) { low = Math.min(low, v); high = Math.max(high, v); }
  const span = Math.max(high - low, 1e-9), n = values.length;
  return values.map((v, i) => `${i && values[i - 1] !== null ? "L" : "M"}${(cx - 11 + (22 * i) / (n - 1)).toFixed(1)},` +
    `${(cy + 11 - (22 * ((v ?? low) - low)) / span).toFixed(1)}`).join("");
}

// -- a unit's output, full size in the main plot ------------------------------------------------

function viewedUnit() {
  return hovered || (selected ? { layer: selected.layer, unit: selected.unit } : null);
}

const sameUnit = (a, b) => Boolean(a && b && a.layer === b.layer && a.unit === b.unit);

async function fetchUnitView() {
  const want = viewedUnit();
  if (!want) { unitView = null; unitAsked = null; drawPicture(); return; }
  if (unitAsked && sameUnit(unitAsked, want)) return;  // already on its way
  unitAsked = want;
  try {
    const answer = await api("GET", "/api/unit", null, { column: want.layer, unit: want.unit });
    if (sameUnit(viewedUnit(), want)) { unitView = answer; drawPicture(); }
  } catch (error) {
    const words = spoken(error);
    say(words.key, words.args, true);
  } finally {
    if (sameUnit(unitAsked, want)) unitAsked = null;
  }
}

// The value a unit's map shows as white: 0, or chance level for a probability output.
function outputCentre(net) {
  return net.output === "sigmoid_bce" ? 0.5 : net.output === "softmax_ce" ? 1 / state.classes : 0;
}

// A unit's map as an image: blue where its output is above centre, orange below, scaled
// by the largest deviation over the plane (so each small map uses its full range).
function unitImage(values, centre) {
  return unitCanvas(values, centre).toDataURL();
}

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
function drawAxes(ctx, area, xRange, yRange, xTicks, yTicks, xName, yName) {
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

const FONT = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
// the picture's plot area inside its 320×310 canvas: room for the axes' names and ticks
const PLOT = { l: 38, t: 18, r: 300, b: 288 };

// The main plot: the network's output (its decision boundary or fitted curve), or the output
// of the unit under the pointer (or selected), with the data points over it.
function drawPicture() {
  const canvas = $("picture"), ctx = canvas.getContext("2d");
  const unit = unitView && sameUnit(viewedUnit(), { layer: unitView.column, unit: unitView.unit }) ? unitView : null;
  const pic = unit || state.picture;
  const [x0, x1, y0, y1] = pic.frame, { l, t: top, r, b } = PLOT;
  const px = (x) => l + ((x - x0) / (x1 - x0)) * (r - l), py = (v) => b - ((v - y0) / (y1 - y0)) * (b - top);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const regression = state.picture.kind === "curve";
  $("picture-title").textContent = unit ? unitName(unit.column, unit.unit)
    : t(regression ? "heading.fit" : "heading.boundary");
  $("picture-what").textContent = unit ? t(regression ? "picture.unit_back_x" : "picture.unit_back") : "";
  $("picture").dataset.showing = unit ? `${unit.column}:${unit.unit}` : "output";
  if (pic.kind === "grid") {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(unit ? unitTile(unit) : boundaryTile(pic), l, top, r - l, b - top);
  } else {
    ctx.strokeStyle = "#ccc";
    ctx.beginPath(); ctx.moveTo(l, py(0)); ctx.lineTo(r, py(0)); ctx.moveTo(px(0), top); ctx.lineTo(px(0), b); ctx.stroke();
  }
  drawAxes(ctx, PLOT, [x0, x1], [y0, y1], niceTicks(x0, x1), niceTicks(y0, y1),
           regression ? "x" : "x₁", regression ? (unit ? "a" : "y") : "x₂");
  ctx.save();
  ctx.beginPath(); ctx.rect(l, top, r - l, b - top); ctx.clip();
  if (points && !(unit && regression)) drawPoints(ctx, px, py, regression);
  if (pic.kind === "curve") {
    ctx.strokeStyle = COLORS[1]; ctx.lineWidth = 2.5;
    ctx.beginPath();
    pic.x.forEach((x, i) => (i ? ctx.lineTo(px(x), py(pic.y[i])) : ctx.moveTo(px(x), py(pic.y[i]))));
    ctx.stroke();
  }
  ctx.restore();
}

// Round values across [lo, hi], at most about 8: steps of 1, 2 or 5 times a power of ten.
function niceTicks(lo, hi) {
  const rough = (hi - lo) / 6, power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= rough);
  const out = [];
  for (let k = Math.ceil(lo / step); k * step <= hi + 1e-9 * step; k++) out.push(Number((k * step).toPrecision(6)));
  return out;
}

// The decision boundary as a tile: each cell its class, paler where the network is unsure
// (confidence 1/k shows white), or at full strength when the output is discretized.
function boundaryTile(pic) {
  const n = pic.size, tile = document.createElement("canvas"), k = Math.max(2, state.classes);
  tile.width = tile.height = n;
  const image = tile.getContext("2d").createImageData(n, n), discrete = $("discretize").checked;
  for (let i = 0; i < n * n; i++) {
    const strength = discrete ? 1 : Math.max(0, (pic.confidence[i] - 1 / k) / (1 - 1 / k));
    const [red, green, blue] = classColor(pic.label[i], 0.15 + 0.55 * strength);
    image.data.set([red, green, blue, 255], 4 * i);
  }
  tile.getContext("2d").putImageData(image, 0, 0);
  return tile;
}

// A unit's output as a tile, coloured as its small square in the diagram is.
function unitTile(unit) {
  return unitCanvas(unit.values, unit.column === state.network.sizes.length - 1 ? outputCentre(state.network) : 0);
}

function drawPoints(ctx, px, py, regression) {
  const parts = $("show-test").checked ? [["train", false], ["val", true]] : [["train", false]];
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

function drawLoss() {
  const canvas = $("loss-chart"), ctx = canvas.getContext("2d"), h = state.history;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const values = [...h.loss, ...h.val_loss].filter((v) => v !== null && isFinite(v));
  const top = Math.max(1e-9, ...values), last = h.step[h.step.length - 1] || 1;
  const area = { l: 44, t: 18, r: canvas.width - 34, b: canvas.height - 20 };
  const { px, py } = drawAxes(ctx, area, [0, last], [0, top], [0, last / 2, last].map((v) => Math.round(v)),
                              [0, top / 2, top], t("axis.step"), t("axis.loss"));
  for (const [key, color] of [["val_loss", COLORS[0]], ["loss", "#222"]]) {
    ctx.strokeStyle = color; ctx.lineWidth = 1.6; ctx.beginPath();
    let started = false;
    h[key].forEach((v, i) => {
      if (v === null) { started = false; return; }
      started ? ctx.lineTo(px(h.step[i]), py(v)) : ctx.moveTo(px(h.step[i]), py(v));
      started = true;
    });
    ctx.stroke();
  }
}

// -- the ledger ------------------------------------------------------------------------

const MAX_ROWS = 64;  // batch rows shown per matrix: every row of any batch up to 64

function matrix(name, values, entry, from) {
  const rows = Array.isArray(values) ? (Array.isArray(values[0]) ? values : [values]) : [[values]];
  const shownRows = rows.slice(0, MAX_ROWS);
  const body = shownRows.map((row, i) => `<tr>${row.map((v, j) =>
    `<td data-entry="${entry}" data-name="${name}" data-i="${i}" data-j="${j}" data-value="${v}" title="${v}">${fmt(v)}</td>`).join("")}</tr>`).join("");
  const more = rows.length > shownRows.length
    ? `<tr><td class="more" colspan="99">${escapeHtml(t("ledger.more_rows", { count: rows.length - shownRows.length }))}</td></tr>` : "";
  const source = from === undefined ? "" : ` <small class="from">${escapeHtml(t("ledger.from_entry", { entry: from + 1 }))}</small>`;
  return `<div class="matrix${from === undefined ? "" : " borrowed"}"><table><caption><code>${name}</code>${source}</caption>${body}${more}</table></div>`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// The ledger's words in the page's language (the server sends every language); equations as they are.
const said = (item, key) => item.words[lang][key];

function entryHtml(e, index, open) {
  const shapes = Object.entries(e.shapes).map(([k, v]) => `${k} (${v.join("×")})`).join(", ");
  const values = Object.entries(e.values).map(([k, v]) => matrix(k, v, index, e.borrowed[k])).join("");
  const note = said(e, "note") ? `<p class="note">${escapeHtml(said(e, "note"))}</p>` : "";
  const aside = said(e, "aside") ? ` <small class="aside">${escapeHtml(said(e, "aside"))}</small>` : "";
  return `<details data-entry="${index}" data-layer="${e.layer}" data-phase="${e.phase}"${open ? " open" : ""}>
    <summary class="${e.kind}"><span class="phase">${escapeHtml(t(`phase.${e.kind}`))}</span>
    ${escapeHtml(said(e, "title"))}${escapeHtml(t("punct.colon"))}<span class="eq">${escapeHtml(e.equation)}</span>${aside}</summary>
    ${note}<div class="shapes">${escapeHtml(t("ledger.shapes"))}${escapeHtml(t("punct.colon"))}${escapeHtml(shapes)}</div>
    <div class="values">${values}</div></details>`;
}

function beforeAfterHtml(id) {
  if (ledger.loss_after === null) return "";
  return `<p class="note"${id ? ` id="${id}"` : ""} data-before="${ledger.loss}" data-after="${ledger.loss_after}">` +
    escapeHtml(t("ledger.before_after", { before: fmt(ledger.loss, 6), after: fmt(ledger.loss_after, 6) })) + "</p>";
}

function renderLedger() {
  if (!ledger) return;
  $("ledger-toggle").disabled = false;
  const loss = fmt(ledger.loss);
  $("ledger-caption").textContent = ledger.loss_after === null
    ? t("ledger.caption", { step: ledger.step, n: ledger.n, loss })
    : t("ledger.caption_after", { step: ledger.step, n: ledger.n, loss, after: fmt(ledger.loss_after) });
  const open = new Set(Array.from(document.querySelectorAll("#ledger details[open]"), (d) => d.dataset.entry));
  const parts = [`<p class="note">${escapeHtml(said(ledger, "note"))}</p>`];
  ledger.entries.forEach((e, index) => parts.push(entryHtml(e, index, open.has(String(index)))));
  parts.push(`<p class="note">${escapeHtml(said(ledger, "update"))}</p>`, beforeAfterHtml("loss-before-after"));
  $("ledger").innerHTML = parts.join("");
  $("replay").hidden = false;
  showLedger(true);
}

// -- the step replayed on the network ----------------------------------------------------
// The last Step's ledger entries in their order: the forward sweep lights each layer left to
// right, then the loss, then the backward sweep right to left, then each layer's update. The
// page only points at what the server recorded. A replay belongs to one Step: Play or a new
// Step ends it, and its caption names the step it shows.

let replay = null;               // the index of the entry shown, or null before the first
let replaying = false, replayTimer = null;

function stopReplay() {
  setReplaying(false);
  replay = null;
  $("replay").hidden = !ledger;
  $("replay-entry").replaceChildren();
  $("replay-where").textContent = ledger ? t("replay.ready", { step: ledger.step }) : "";
  delete $("replay").dataset.index;
  $("replay").dataset.step = ledger ? ledger.step : "";
  for (const node of document.querySelectorAll("#ledger details.current")) node.classList.remove("current");
  highlight();
  replayButtons();
}

function replayButtons() {
  const last = ledger ? ledger.entries.length - 1 : -1, focused = document.activeElement;
  $("replay-prev").disabled = replay === null || replay <= 0;
  $("replay-next").disabled = !ledger || replay === last;
  // a button disabled under the keyboard's focus would drop it: it goes to the other one
  if (focused && focused.disabled && focused.id === "replay-prev") $("replay-next").focus();
  if (focused && focused.disabled && focused.id === "replay-next") $("replay-prev").focus();
}

function sweepWords(e, index) {
  const n = ledger.entries.length;
  const where = t("replay.where", { step: ledger.step, index: index + 1, n, what: t(`replay.what.${e.kind}`) });
  return index === n - 1 ? `${where}${t("replay.end")}` : where;
}

function replayTo(index) {
  if (!ledger) return;
  replay = Math.max(0, Math.min(ledger.entries.length - 1, index));
  const e = ledger.entries[replay];
  // the ledger's own rendering of the entry, under the network; its update also gives the loss
  // before and after the step, on the same batch
  $("replay-entry").innerHTML = entryHtml(e, replay, true) + (e.phase === "update" ? beforeAfterHtml() : "");
  $("replay-where").textContent = sweepWords(e, replay);
  Object.assign($("replay").dataset, { index: replay, kind: e.kind, dense: e.dense === null ? "" : e.dense, step: ledger.step });
  for (const node of document.querySelectorAll("#ledger details[data-entry]")) {
    const current = node.dataset.entry === String(replay);
    node.classList.toggle("current", current);
    if (current) node.open = true;
  }
  highlight();
  replayButtons();
}

// Light the units (and, for a Dense entry, the connections) of the layer whose entry is shown.
function highlight() {
  const svg = $("network");
  for (const node of svg.querySelectorAll(".lit")) node.classList.remove("lit", "forward", "backward", "loss", "update");
  const e = ledger && replay !== null ? ledger.entries[replay] : null;
  svg.classList.toggle("replaying", Boolean(e));
  if (!e || !state) return;
  const outputs = state.network.sizes.length - 1;
  // Dense layer k (and the activation after it) makes the units of diagram column k + 1
  const column = e.dense === null ? outputs : e.dense + 1;
  const lit = Array.from(svg.querySelectorAll(`.node[data-layer="${column}"]`));
  if (e.dense !== null && ["W", "dW"].some((name) => name in e.values && !(name in e.borrowed)))
    lit.push(...svg.querySelectorAll(`line.weight[data-dense="${e.dense}"]`));
  for (const node of lit) node.classList.add("lit", e.kind);
}

function setReplaying(on) {
  replaying = on && Boolean(ledger);
  clearTimeout(replayTimer);
  $("replay-play").textContent = replaying ? `❚❚ ${t("button.replay_pause")}` : `▶ ${t("button.replay")}`;
  $("replay-play").setAttribute("aria-pressed", String(replaying));
  if (!replaying) return;
  if (replay === null || replay === ledger.entries.length - 1) replayTo(0);  // from the start
  replayTimer = setTimeout(replayTick, Number($("replay-speed").value));
}

function replayTick() {
  if (!replaying || !ledger) return;
  replayTo(replay + 1);
  if (replay === ledger.entries.length - 1) setReplaying(false);  // ends on the last update
  else replayTimer = setTimeout(replayTick, Number($("replay-speed").value));
}

function replayStep(by) {
  if (!ledger) return;
  setReplaying(false);
  replayTo(replay === null ? 0 : replay + by);
}

function showLedger(on) {
  $("ledger").hidden = !on;
  $("ledger-toggle").setAttribute("aria-expanded", String(on));
  $("ledger-toggle").textContent = `${on ? "▾" : "▸"} ${t("button.ledger")}`;
  if (!ledger) {
    $("ledger-toggle").disabled = true;
    $("ledger-caption").textContent = t("ledger.press_step");
    $("unit").hidden = true;
  }
}

// -- a unit's and a connection's numbers for the last Step's batch ----------------------------

// A unit's numbers: every per-unit column the ledger holds for its layer (picked, not computed).
function renderUnit() {
  const box = $("unit");
  if (!selected || !ledger || selected.layer === 0) { box.hidden = true; return; }
  const k = selected.layer - 1, j = selected.unit;   // dense layer k feeds diagram column k + 1
  // the layer's parameters, their gradients and their update (old, Δ, new) are per input
  // unit or per unit, not per row of the batch: lines, each once (the forward and the update
  // entries both hold W and b)
  const perInput = ["W", "dW", "ΔW", "W_new"], perUnit = ["b", "db", "Δb", "b_new"];
  const columns = [], scalars = [];
  const line = (text) => { if (!scalars.includes(text)) scalars.push(text); };
  for (const e of ledger.entries) {
    if (e.dense !== k) continue;
    for (const [name, v] of Object.entries(e.values)) {
      if (name in e.borrowed) continue;
      if (perInput.includes(name)) {
        line(`${name}[:, ${j}] = [${v.map((row) => fmt(row[j])).join(", ")}]`);
      } else if (perUnit.includes(name)) {
        line(`${name}[${j}] = ${fmt(v[j])}`);
      } else if (name !== "X" && name !== "dX" && Array.isArray(v) && Array.isArray(v[0])
                 && !columns.some(([seen]) => seen === name)) {
        columns.push([name, v.map((row) => row[j])]);
      }
    }
  }
  const n = columns.length ? columns[0][1].length : 0;
  const head = `<tr><th>${escapeHtml(t("panel.row"))}</th>${columns.map(([name]) => `<th>${name}[:, ${j}]</th>`).join("")}</tr>`;
  const body = Array.from({ length: n }, (_, i) =>
    `<tr><th>${ledger.rows[i]}</th>${columns.map(([, c]) => `<td>${fmt(c[i])}</td>`).join("")}</tr>`).join("");
  box.innerHTML = `<b>${escapeHtml(unitName(selected.layer, j))}</b> ${escapeHtml(t("unit.panel", { step: ledger.step, j, index: state.network.dense_layers[k] }))}
    <div><code>${scalars.map(escapeHtml).join("</code><br><code>")}</code></div>
    <table>${head}${body}</table>`;
  box.hidden = false;
}

// A connection: its weight now, which can be set by hand (as in TensorFlow Playground), and
// after a Step its chain rule for the batch, as the server summed it: ∂L/∂w = Σ_rows a·δ.
async function fetchEdge() {
  weight = null;
  renderEdge();
  if (!edge || !ledger) return;
  const asked = edge;
  try {
    const answer = await api("GET", "/api/connection", null, { layer: asked.dense, i: asked.i, j: asked.j });
    if (edge === asked) weight = answer;
  } catch (error) {
    const words = spoken(error);
    say(words.key, words.args, true);
  }
  renderEdge();
}

async function setWeight() {
  const value = Number($("edge-value").value), asked = edge;
  try {
    const result = await api("POST", "/api/weight", { layer: asked.dense, i: asked.i, j: asked.j, value });
    render(result);
    say("status.weight_set", { from: unitName(asked.dense, asked.i), to: unitName(asked.dense + 1, asked.j), w: fmt(value, 6) });
  } catch (error) {
    const words = spoken(error);
    say(words.key, words.args, true);
  }
}

function renderEdge() {
  const box = $("edge");
  if (!edge || !state) { box.hidden = true; return; }
  const { dense: k, i, j } = edge, now = state.network.layers[k].W[i][j];
  const from = unitName(k, i), to = unitName(k + 1, j), [lo, hi] = options.limits.weight;
  const editing = document.activeElement && document.activeElement.id === "edge-value";
  const typed = editing ? $("edge-value").value : null;
  box.innerHTML = `<b>${escapeHtml(t("edge.head", { from, to }))}</b>${escapeHtml(t("edge.where", { i, j, index: state.network.dense_layers[k] }))}
    <p class="edit"><label>${escapeHtml(t("edge.set"))} <input id="edge-value" type="number" step="any"
      min="${lo}" max="${hi}" value="${now}" title="${escapeHtml(t("tip.weight_set", { lo, hi }))}"></label>
      <button id="edge-set" type="button">${escapeHtml(t("button.set"))}</button></p>
    ${weight ? chainHtml(weight, from, to) : `<p class="hint">${escapeHtml(t("edge.after_step"))}</p>`}`;
  if (editing) { $("edge-value").value = typed; $("edge-value").focus(); }
  box.hidden = false;
}

function chainHtml(w, from, to) {
  const { i, j } = w;
  const body = w.products.map((p, r) => `<tr><th>${w.rows[r]}</th><td>${fmt(w.a[r])}</td>
    <td>${fmt(w.delta[r])}</td><td data-product="${p}">${fmt(p)}</td></tr>`).join("");
  let after = "";
  if (w.dW_penalized !== null) {
    after += `<p>${escapeHtml(t("edge.penalty"))} <b id="edge-dw-penalized" data-value="${w.dW_penalized}">${fmt(w.dW_penalized, 6)}</b></p>`;
  }
  if (w.update) {
    const u = w.update;
    after += `<p>${escapeHtml(t("edge.update"))} <code>W_new = W + ΔW</code> =
      <span id="edge-old">${fmt(u.W, 6)}</span> + (${fmt(u.delta, 6)}) =
      <b id="edge-new" data-value="${u.W_new}">${fmt(u.W_new, 6)}</b>
      <small>${escapeHtml(t("punct.aside", { text: u.note[lang] }))}</small></p>`;
  }
  return `<p class="batch">${escapeHtml(t("edge.batch", { step: w.step }))}</p>
    <p>${escapeHtml(t("edge.rule", { from, to, i, j }))} <code>∂L/∂w = Σ a · δ</code></p>
    <table><tr><th>${escapeHtml(t("panel.row"))}</th><th>a = X[r][${i}]</th><th>δ = dZ[r][${j}]</th><th>a · δ</th></tr>${body}
    <tr class="sum"><th>Σ</th><td></td><td></td><td id="edge-sum" data-value="${w.sum}">${fmt(w.sum, 6)}</td></tr></table>
    <p>${escapeHtml(t("edge.ledger", { i, j }))} <b id="edge-dw" data-value="${w.dW}">${fmt(w.dW, 6)}</b>
    ${escapeHtml(t("edge.same_sum"))}</p>${after}`;
}

// -- your points, and taking the run home ----------------------------------------------

async function uploadCsv(event) {
  event.stopPropagation();  // not a setting change by itself: the upload decides
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  setPlaying(false);
  try {
    if (file.size > options.upload.chars * 4)
      throw new Refused({ key: "csv.file_too_big", args: { size: file.size, hi: options.upload.chars } });
    // the points and the run on them in one request: refused together, so the run on screen
    // and the points the server keeps for this tab stay the same
    const asked = { ...readConfig(), dataset: "upload" };
    generation += 1;
    const answer = await api("POST", "/api/upload", { csv: await file.text(), config: asked });
    uploadedRows = answer.rows;
    addUploadOption();
    $("dataset").value = "upload";
    updateFeatureToggles();
    startRun(asked, answer);
    $("csv-name").textContent = t("upload.loaded", { rows: uploadedRows });
    say("status.uploaded", { rows: answer.rows, classes: answer.classes,
                             centre: answer.scale.centre.map((c) => fmt(c)), scale: fmt(answer.scale.scale) });
  } catch (error) {
    say("status.csv_refused", { message: spoken(error) }, true);
  }
}

function addUploadOption() {
  let option = $("dataset").querySelector("option[value=upload]");
  if (!option) {
    option = document.createElement("option");
    option.value = "upload";
    $("dataset").appendChild(option);
  }
  option.textContent = datasetName("upload");
  options.datasets.upload = { task: "classification", features: 2 };
}

async function download(path, fallback) {
  try {
    const response = await fetch(`${path}?session=${session}`);
    if (!response.ok) throw new Refused(await response.json(), response.status);
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name ? name[1] : fallback;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    say("status.download_failed", { message: spoken(error) }, true);
  }
}

// -- wiring ------------------------------------------------------------------------------

// A menu's options by value; their words are set by applyLanguage (numbers stay as they are).
function fillMenu(select, values) {
  select.innerHTML = values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`).join("");
}

// The form's limits and defaults, as the server sends them.
function applyLimits() {
  const limits = options.limits;
  for (const [id, key] of [["noise", "noise"], ["size", "size"], ["seed", "seed"], ["lr", "lr"],
                           ["batch_size", "batch_size"], ["validation", "validation"]]) {
    $(id).min = limits[key][0];
    $(id).max = limits[key][1];
  }
  fillMenu($("dataset"), Object.keys(options.datasets));
  fillMenu($("activation"), options.activations);
  fillMenu($("optimizer"), options.optimizers);
  fillMenu($("output"), options.outputs);
  fillMenu($("l1"), options.choices.penalty); fillMenu($("l2"), options.choices.penalty);
  fillMenu($("dropout"), options.choices.dropout);
  fillMenu($("speed"), options.choices.speed);
  $("speed").value = options.choices.speed_default;
  $("lang").innerHTML = options.languages.map((code) =>
    `<option value="${code}">${escapeHtml(words[code]["language.name"])}</option>`).join("");
  $("features").insertAdjacentHTML("beforeend", Object.entries(options.features).map(([name, f]) =>
    `<label class="toggle"><input type="checkbox" value="${name}"> ${escapeHtml(f.label)}</label>`).join(""));
}

function setLanguage(code) {
  lang = code;
  $("lang").value = lang;
  applyLanguage();
  const params = new URLSearchParams(location.hash.slice(1));
  params.set("lang", lang);
  history.replaceState(null, "", `#${params}`);
}

function wire() {
  $("lang").addEventListener("change", (event) => { event.stopPropagation(); setLanguage($("lang").value); });
  // the display options redraw; every other control starts a new run
  $("controls").addEventListener("change", (event) => {
    if (event.target.dataset.display !== undefined) { if (state) drawPicture(); }
    else if (event.target.id !== "csv") configure();
  });
  $("controls").addEventListener("submit", (e) => { e.preventDefault(); configure(); });
  $("noise").addEventListener("input", showOutputs);
  $("validation").addEventListener("input", showOutputs);
  $("dataset").addEventListener("change", updateFeatureToggles, true);
  $("features").addEventListener("change", updateFeatureToggles, true);
  $("layers-minus").addEventListener("click", () => changeHidden(hiddenSizes().slice(0, -1)));
  $("layers-plus").addEventListener("click", () => {
    const sizes = hiddenSizes();
    changeHidden([...sizes, sizes.length ? sizes[sizes.length - 1] : options.defaults.hidden[0]]);
  });
  $("units").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-layer]");
    if (!button || button.disabled) return;
    const sizes = hiddenSizes();
    sizes[Number(button.dataset.layer)] += Number(button.dataset.by);
    changeHidden(sizes);
  });
  $("edge").addEventListener("click", (event) => { if (event.target.id === "edge-set") setWeight(); });
  $("edge").addEventListener("keydown", (event) => {
    if (event.target.id === "edge-value" && event.key === "Enter") { event.preventDefault(); setWeight(); }
  });
  // a click on the plot returns it to the network's output
  $("picture").addEventListener("click", () => {
    if (!selected) return;
    selected = null; drawNetwork(); renderUnit(); fetchUnitView();
  });
  // an edit of the URL's #fragment in this tab: its settings (and language) take effect
  window.addEventListener("hashchange", applyHash);
  $("reset").addEventListener("click", configure);
  $("csv-button").addEventListener("click", () => $("csv").click());
  $("csv").addEventListener("change", uploadCsv);
  $("export-model").addEventListener("click", () => download("/api/export/model", "model.safetensors"));
  $("export-script").addEventListener("click", () => download("/api/export/script", "chainrule_playground.py"));
  $("play").addEventListener("click", () => { if (!busy) setPlaying(!playing); });
  $("step").addEventListener("click", step);
  $("ledger-toggle").addEventListener("click", () => showLedger($("ledger").hidden));
  $("replay-play").addEventListener("click", () => setReplaying(!replaying));
  $("replay-prev").addEventListener("click", () => replayStep(-1));
  $("replay-next").addEventListener("click", () => replayStep(1));
  $("replay").addEventListener("keydown", (event) => {
    if (event.target.tagName === "SELECT") return;  // its own arrows choose a speed
    const moves = { ArrowLeft: () => replayStep(-1), ArrowRight: () => replayStep(1),
                    Home: () => { setReplaying(false); replayTo(0); },
                    End: () => { setReplaying(false); replayTo(ledger.entries.length - 1); } };
    if (moves[event.key] && ledger) { event.preventDefault(); moves[event.key](); }
  });
  // a keepalive fetch outlives the page, as a beacon would, and can send JSON (a beacon's
  // text/plain is what any other site's form could send too, so the server refuses it)
  window.addEventListener("pagehide", () => fetch("/api/close", {
    method: "POST", keepalive: true, headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session }) }));
}

async function applyHash() {
  const config = configFromUrl(), asked = new URLSearchParams(location.hash.slice(1)).get("lang");
  if (options.languages.includes(asked) && asked !== lang) setLanguage(asked);
  writeConfig(config);
  await configure();
  if (config.dataset !== undefined && !(config.dataset in options.datasets)) {
    say(config.dataset === "upload" && uploadedRows === null ? "status.upload_gone" : "status.unknown_dataset",
        { dataset: config.dataset }, true);
  }
}

async function start() {
  const [answer, ...tables] = await Promise.all(["/api/options", "/static/words.en.json", "/static/words.zh.json"]
    .map((url) => fetch(url).then((r) => r.json())));
  options = answer;
  options.languages.forEach((code, i) => { words[code] = tables[i]; });
  const asked = new URLSearchParams(location.hash.slice(1)).get("lang");
  lang = options.languages.includes(asked) ? asked : "en";
  applyLimits();
  const d = options.defaults;
  writeConfig(d);
  const fromUrl = configFromUrl();
  writeConfig(fromUrl);
  $("lang").value = lang;
  applyLanguage();
  wire();
  document.body.dataset.session = session;
  await configure();
  if (!lastGood) { writeConfig(d); await configure(); }  // a URL the server refused: the defaults
  if (fromUrl.dataset !== undefined && !(fromUrl.dataset in options.datasets)) {
    say(fromUrl.dataset === "upload" ? "status.upload_gone" : "status.unknown_dataset",
        { dataset: fromUrl.dataset }, true);
  }
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  const message = words[lang] ? t("status.could_not_start", { reason: error.message }) : String(error);
  $("status").textContent = message;
  $("status").className = "error";
});
