// chainrule playground: this page only draws. Every number comes from the server,
// which trains a real chainrule network; nothing of the math is computed here.
"use strict";

const $ = (id) => document.getElementById(id);
const FRAME_MS = 120;            // at most ~8 screen updates a second while playing
const COLORS = ["#e8743b", "#2b7bb9", "#3ba272"];  // class 0, 1, 2 (and weight sign: -, +)
const SVG = "http://www.w3.org/2000/svg";
const OUTPUT_NAMES = { sigmoid_bce: "sigmoid", softmax_ce: "softmax", identity_mse: "linear" };
// what the menus show for the server's names
const LABELS = {
  tanh: "tanh", relu: "ReLU", sigmoid: "sigmoid", leaky_relu: "leaky ReLU", elu: "ELU", gelu: "GELU",
  softplus: "softplus", identity: "none (linear)", sgd: "SGD (gradient descent)", adam: "Adam",
  rmsprop: "RMSprop", adagrad: "Adagrad", adamw: "AdamW", auto: "automatic (by the data set)",
  sigmoid_bce: "sigmoid + binary cross-entropy", softmax_ce: "softmax + cross-entropy",
  identity_mse: "linear + mean squared error",
};
const FIELDS = ["dataset", "noise", "size", "seed", "validation", "features", "hidden", "activation",
                "output", "optimizer", "lr", "batch_size", "l1", "l2", "dropout"];
const PENALTIES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5, 0.7];
// 简体中文 for the page's words, keyed by the English text (the equations stay as they are).
// Written for learners, in the terms of the Chinese deep-learning textbooks (激活函数, 反向传播).
const ZH = {
  "Reset": "重置", "Play": "运行", "Pause": "暂停", "Step": "单步", "speed": "速度", "model": "模型",
  "script": "脚本", "step": "步数", "epoch": "轮次", "Data": "数据", "data set": "数据集",
  "noise": "噪声", "points": "点数", "seed": "随机种子", "your points": "你的数据",
  "validation share": "验证集比例", "Input features": "输入特征", "Network": "网络",
  "hidden units": "隐藏层单元", "activation": "激活函数", "output / loss": "输出 / 损失",
  "Training": "训练", "optimizer": "优化器", "learning rate": "学习率", "batch size": "批大小",
  "Regularisation": "正则化", "L1": "L1", "L2": "L2", "dropout": "Dropout 比例",
  "Changing a setting resets the run. All computation is chainrule, in Python on the server; this page only draws.":
    "改动任何设置都会重新开始训练。所有计算都由服务器上的 chainrule（Python）完成，本页面只负责绘图。",
  "Loss": "损失", "training": "训练集", "validation": "验证集", "Ledger": "计算账本",
  "Decision boundary": "决策边界", "Regression fit": "回归拟合", "input": "输入", "hidden": "隐藏层",
  "output": "输出", "loss": "损失", "accuracy": "准确率",
  "press Step to record one mini-batch": "按“单步”记录一个小批量的完整计算",
  "forward": "前向", "backward": "反向", "update": "更新", "shapes": "形状",
  "Previous": "上一项", "Next": "下一项", "Replay the step": "回放这一步", "Pause the replay": "暂停回放",
  "replay speed": "回放速度", "slow": "慢", "normal": "中", "fast": "快",
};
const ZH_HTML = {
  network: `边：<span class="pos">正</span> / <span class="neg">负</span> 权重，粗细 ∝ |w|；
    每个方块：该单元在输入平面上的输出（<span class="pos">高于</span> / <span class="neg">低于</span> 0，输出层为相对随机猜测），
    边框颜色为其偏置的符号；单步之后，可点击单元或连线查看`,
};
const ZH_LABELS = {
  tanh: "tanh", relu: "ReLU", sigmoid: "sigmoid", leaky_relu: "Leaky ReLU", elu: "ELU", gelu: "GELU",
  softplus: "softplus", identity: "无（线性）", sgd: "SGD（梯度下降）", adam: "Adam", rmsprop: "RMSprop",
  adagrad: "Adagrad", adamw: "AdamW", auto: "自动（按数据集选择）",
  sigmoid_bce: "sigmoid + 二元交叉熵", softmax_ce: "softmax + 交叉熵", identity_mse: "线性 + 均方误差",
  xor: "异或（XOR）", circles: "同心圆", moons: "双月形", spiral: "双螺旋", blobs: "高斯团（3 类）",
  sine: "正弦（回归）", none: "无",
};
let lang = "en";
const tr = (text) => (lang === "zh" && ZH[text]) || text;

// Every marked element shows its English text (kept from the page) or its translation.
function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    if (node.dataset.en === undefined) node.dataset.en = node.textContent.trim();
    node.textContent = tr(node.dataset.en);
  }
  const caption = document.querySelector("[data-i18n-html]");
  if (caption.dataset.en === undefined) caption.dataset.en = caption.innerHTML;
  caption.innerHTML = lang === "zh" ? ZH_HTML.network : caption.dataset.en;
  for (const select of ["dataset", "activation", "optimizer", "output", "dropout"]) {
    for (const option of $(select).options) {
      if (option.dataset.en === undefined) option.dataset.en = option.textContent;
      option.textContent = (lang === "zh" && ZH_LABELS[option.value]) || option.dataset.en;
    }
  }
  setPlaying(playing);
  if (ledger) {  // the ledger's own words: its titles and notes come from the server in both languages
    const open = !$("ledger").hidden;
    renderLedger();
    showLedger(open);
    if (replay !== null) replayTo(replay);
  }
  setReplaying(replaying);
  showLedger(!$("ledger").hidden);
  if (state) render(state);
}

let lastGood = null;             // the settings of the run on screen: a refused change returns to them

// One session per tab: made here, sent with every request, freed when the tab goes.
const session = Array.from(crypto.getRandomValues(new Uint8Array(12)),
                           (b) => b.toString(16).padStart(2, "0")).join("");
let options = null, state = null, points = null, ledger = null;
let playing = false, busy = false, selected = null, edge = null;
let loops = 0;                   // the newest play loop's number: an older loop stops
let pending = Promise.resolve();  // the play loop's request in flight, if any
let generation = 0;              // bumped by every reset: late answers for an old run are dropped

// -- talking to the server -----------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: { "Content-Type": "application/json" } };
  let url = path;
  if (method === "GET") url += `?session=${session}`;
  else init.body = JSON.stringify({ session, ...body });
  const response = await fetch(url, init);
  const json = await response.json();
  if (!response.ok) throw new Error(json.error || `${response.status} ${response.statusText}`);
  return json;
}

function say(message, error = false) {
  $("status").textContent = message || "";
  $("status").className = error ? "error" : "";
}

function readConfig() {
  const text = $("hidden").value.trim();
  const hidden = text === "" ? [] : text.split(/[\s,]+/).filter(Boolean).map(Number);
  return {
    dataset: $("dataset").value, noise: Number($("noise").value), size: Number($("size").value),
    seed: Number($("seed").value), hidden, activation: $("activation").value,
    output: $("output").value, optimizer: $("optimizer").value, lr: Number($("lr").value),
    batch_size: Number($("batch_size").value), validation: Number($("validation").value),
    l1: Number($("l1").value), l2: Number($("l2").value), dropout: Number($("dropout").value),
    features: Array.from(document.querySelectorAll("#features input:checked:not(:disabled)"), (box) => box.value),
  };
}

// The feature toggles: x2's features are off for a data set with one input column.
function updateFeatureToggles() {
  const columns = options.datasets[$("dataset").value].features;
  for (const box of document.querySelectorAll("#features input")) {
    box.disabled = options.features[box.value].columns > columns;
    box.parentElement.classList.toggle("off", box.disabled);
  }
}

// Put settings into the form (from the URL, or back to the last good ones).
function writeConfig(config) {
  for (const key of FIELDS) {
    if (!(key in config)) continue;
    if (key === "features") {
      // a list, a comma-separated string (from the URL), or null: the data's own columns
      const on = config.features === null ? ["x1", "x2"] : [].concat(config.features).join(",").split(",");
      for (const box of document.querySelectorAll("#features input")) box.checked = on.includes(box.value);
    } else if (key === "dataset" && !(config.dataset in options.datasets)) {
      // a link or a reload naming points this tab no longer has (uploads live with a tab's
      // session, on the server): the data set stays as it is, and start() says why
      continue;
    } else {
      $(key).value = key === "hidden" ? [].concat(config.hidden).join(", ") : config[key];
    }
  }
  updateFeatureToggles();
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
      throw new Error(`${error.message} (the setting went back to its last good value)`);
    }
    startRun(asked, result);
    say("");
  } catch (error) {
    say(error.message, true);
  } finally {
    busy = false;
  }
}

// A new run on screen: its settings in the URL, its points, no ledger yet.
function startRun(asked, result) {
  lastGood = asked;
  const params = new URLSearchParams();
  for (const key of FIELDS) params.set(key, Array.isArray(asked[key]) ? asked[key].join(",") : asked[key]);
  params.set("lang", lang);
  history.replaceState(null, "", `#${params}`);
  points = result.data;
  ledger = null; selected = null; edge = null;
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
      say(error.message, true);
      setPlaying(false);
      break;
    }
    if (state.diverged) setPlaying(false);
    await new Promise((r) => setTimeout(r, Math.max(0, FRAME_MS - (performance.now() - started))));
  }
}

function setPlaying(on) {
  playing = on;
  $("play").innerHTML = on ? `&#10074;&#10074; ${tr("Pause")}` : `&#9654; ${tr("Play")}`;
  $("play").setAttribute("aria-pressed", String(on));
  if (on) loop(++loops);
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
      stopReplay();
      renderLedger();
      renderUnit();
      renderEdge();
    }
  } catch (error) {
    say(error.message, true);
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
  if (s.diverged) say(s.diverged, true);
  drawNetwork();
  drawPicture();
  drawLoss();
  const m = s.metrics, rows = [["", tr("training"), tr("validation")], [tr("loss"), fmt(m.loss), fmt(m.val_loss)]];
  if ("accuracy" in m) rows.push([tr("accuracy"), fmt(m.accuracy, 3), fmt(m.val_accuracy, 3)]);
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

function drawNetwork() {
  const svg = $("network"), net = state.network, sizes = net.sizes;
  svg.replaceChildren();
  const width = 520, height = 300, top = 30;
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
      el("title", {}, hit).textContent = `W[${i}][${j}] of Dense layer ${k} = ${fmt(w)}: click for its chain rule`;
      hit.addEventListener("click", () => { edge = { dense: k, i, j }; selected = null; drawNetwork(); renderUnit(); renderEdge(); });
    }));
  });
  sizes.forEach((n, k) => {
    const last = k === sizes.length - 1;
    const label = k === 0 ? tr("input") : last ? `${tr("output")} (${OUTPUT_NAMES[net.output]})` : `${tr("hidden")} ${k} (${net.activation})`;
    el("text", { x: xs[k] + (k === 0 ? -40 : last ? 14 : 0), y: 14,
                 "text-anchor": k === 0 ? "start" : last ? "end" : "middle" }, svg).textContent = label;
    for (let j = 0; j < n; j++) {
      const g = el("g", { class: "node", "data-layer": k, "data-unit": j }, svg);
      if (selected && selected.layer === k && selected.unit === j) g.classList.add("selected");
      const b = k > 0 ? net.layers[k - 1].b[j] : 0;
      const map = net.maps ? unitImage(net.maps[k][j], last ? outputCentre(net) : 0) : null;
      if (map) {
        // the unit's output over the input plane; its border: the sign of its bias
        el("image", { href: map, x: xs[k] - 13, y: y(n, j) - 13, width: 26, height: 26,
                      preserveAspectRatio: "none", class: "map" }, g);
        el("rect", { x: xs[k] - 13, y: y(n, j) - 13, width: 26, height: 26, fill: "none",
                     class: "frame", stroke: k === 0 ? "#555" : b >= 0 ? COLORS[1] : COLORS[0] }, g);
      } else {
        el("circle", { cx: xs[k], cy: y(n, j), r: 12,
          fill: k === 0 ? "#eee" : b >= 0 ? "#d6e6f3" : "#fae0d2" }, g);
      }
      const feature = k === 0 ? options.features[net.features[j]].label : null;
      el("text", { x: xs[k] - (k === 0 ? 16 : 0), y: y(n, j) + 3.5, "text-anchor": k === 0 ? "end" : "middle" }, g)
        .textContent = k === 0 ? feature : map ? "" : `${j}`;
      el("title", {}, g).textContent = k === 0 ? `input feature ${feature}` : `layer ${k} unit ${j}, bias b = ${b}`;
      g.addEventListener("click", () => { selected = { layer: k, unit: j }; edge = null; drawNetwork(); renderUnit(); renderEdge(); });
    }
  });
  highlight();
}

// The value a unit's map shows as white: 0, or chance level for a probability output.
function outputCentre(net) {
  return net.output === "sigmoid_bce" ? 0.5 : net.output === "softmax_ce" ? 1 / state.classes : 0;
}

// A unit's map as an image: blue where its output is above centre, orange below, scaled
// by the largest deviation over the plane (so each small map uses its full range).
function unitImage(values, centre) {
  const n = Math.round(Math.sqrt(values.length)), canvas = document.createElement("canvas");
  canvas.width = canvas.height = n;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(n, n);
  let biggest = 1e-9;
  for (const v of values) if (v !== null) biggest = Math.max(biggest, Math.abs(v - centre));
  values.forEach((v, i) => {
    const t = v === null ? 0 : (v - centre) / biggest;
    const [r, g, b] = classColor(t >= 0 ? 1 : 0, Math.abs(t) * 0.85);
    image.data.set([r, g, b, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
  return canvas.toDataURL();
}

function classColor(c, alpha) {
  const hex = COLORS[c % COLORS.length];
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return rgb.map((v) => Math.round(255 + (v - 255) * alpha));
}

// Axes around a plot area: ticks with labels on the left and bottom, and each axis's name.
function drawAxes(ctx, area, xRange, yRange, xTicks, yTicks, xName, yName) {
  const { l, t, r, b } = area;
  const px = (x) => l + ((x - xRange[0]) / (xRange[1] - xRange[0])) * (r - l);
  const py = (v) => b - ((v - yRange[0]) / (yRange[1] - yRange[0])) * (b - t);
  ctx.strokeStyle = "#888"; ctx.fillStyle = "#555"; ctx.lineWidth = 1; ctx.font = "10px sans-serif";
  ctx.beginPath(); ctx.moveTo(l, t); ctx.lineTo(l, b); ctx.lineTo(r, b); ctx.stroke();
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
  ctx.font = "italic 11px sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "bottom";
  ctx.fillText(xName, r, b - 2);
  ctx.save(); ctx.translate(l + 3, t); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "right"; ctx.textBaseline = "top"; ctx.fillText(yName, 0, 0); ctx.restore();
  ctx.textAlign = "start"; ctx.textBaseline = "alphabetic";
  return { px, py };
}

const PLOT = { l: 30, t: 6, r: 314, b: 290 };  // the picture's plot area inside its 320×310 canvas

function drawPicture() {
  const canvas = $("picture"), ctx = canvas.getContext("2d"), pic = state.picture;
  const [x0, x1, y0, y1] = pic.frame, { l, t, r, b } = PLOT;
  const px = (x) => l + ((x - x0) / (x1 - x0)) * (r - l), py = (v) => b - ((v - y0) / (y1 - y0)) * (b - t);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  $("picture-title").textContent = tr(pic.kind === "grid" ? "Decision boundary" : "Regression fit");
  if (pic.kind === "grid") {
    const n = pic.size, image = ctx.createImageData(n, n), k = Math.max(2, state.classes);
    for (let i = 0; i < n * n; i++) {
      // paler where the network is unsure: confidence 1/k shows white
      const strength = Math.max(0, (pic.confidence[i] - 1 / k) / (1 - 1 / k));
      const [red, green, blue] = classColor(pic.label[i], 0.15 + 0.55 * strength);
      image.data.set([red, green, blue, 255], 4 * i);
    }
    const tile = document.createElement("canvas");
    tile.width = tile.height = n;
    tile.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(tile, l, t, r - l, b - t);
  } else {
    ctx.strokeStyle = "#ccc";
    ctx.beginPath(); ctx.moveTo(l, py(0)); ctx.lineTo(r, py(0)); ctx.moveTo(px(0), t); ctx.lineTo(px(0), b); ctx.stroke();
  }
  const ticks = (lo, hi) => { const out = []; for (let v = Math.ceil(lo); v <= hi; v++) out.push(v); return out; };
  drawAxes(ctx, PLOT, [x0, x1], [y0, y1], ticks(x0, x1), ticks(y0, y1),
           pic.kind === "grid" ? "x₁" : "x", pic.kind === "grid" ? "x₂" : "y");
  ctx.save();
  ctx.beginPath(); ctx.rect(l, t, r - l, b - t); ctx.clip();
  if (points) {
    for (const [part, hollow] of [["train", false], ["val", true]]) {
      const { X, y } = points[part];
      X.forEach((row, i) => {
        const cx = px(row[0]), cy = pic.kind === "grid" ? py(row[1]) : py(y[i]);
        ctx.beginPath();
        ctx.arc(cx, cy, 3.2, 0, 2 * Math.PI);
        const color = pic.kind === "grid" ? COLORS[y[i] % COLORS.length] : "#555";
        ctx.fillStyle = color; ctx.fill();
        ctx.strokeStyle = hollow ? "#111" : "#fff"; ctx.lineWidth = 1; ctx.stroke();
      });
    }
  }
  if (pic.kind === "curve") {
    ctx.strokeStyle = COLORS[1]; ctx.lineWidth = 2.5;
    ctx.beginPath();
    pic.x.forEach((x, i) => (i ? ctx.lineTo(px(x), py(pic.y[i])) : ctx.moveTo(px(x), py(pic.y[i]))));
    ctx.stroke();
  }
  ctx.restore();
}

function drawLoss() {
  const canvas = $("loss-chart"), ctx = canvas.getContext("2d"), h = state.history;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const values = [...h.loss, ...h.val_loss].filter((v) => v !== null && isFinite(v));
  const top = Math.max(1e-9, ...values), last = h.step[h.step.length - 1] || 1;
  const area = { l: 44, t: 8, r: canvas.width - 8, b: canvas.height - 20 };
  const { px, py } = drawAxes(ctx, area, [0, last], [0, top], [0, last / 2, last].map((v) => Math.round(v)),
                              [0, top / 2, top], "step", "loss");
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

function matrix(name, values, entry) {
  const rows = Array.isArray(values) ? (Array.isArray(values[0]) ? values : [values]) : [[values]];
  const shown = rows.slice(0, MAX_ROWS);
  const body = shown.map((row, i) => `<tr>${row.map((v, j) =>
    `<td data-entry="${entry}" data-name="${name}" data-i="${i}" data-j="${j}" data-value="${v}" title="${v}">${fmt(v)}</td>`).join("")}</tr>`).join("");
  const more = rows.length > shown.length ? `<tr><td class="more" colspan="99">… ${rows.length - shown.length} more rows</td></tr>` : "";
  return `<div class="matrix"><table><caption><code>${name}</code></caption>${body}${more}</table></div>`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// The ledger's words in the page's language (the server sends both); equations as they are.
const said = (item, key) => (lang === "zh" && item.zh ? item.zh[key] : item[key]);

function entryHtml(e, index, open) {
  const shapes = Object.entries(e.shapes).map(([k, v]) => `${k} (${v.join("×")})`).join(", ");
  const values = Object.entries(e.values).map(([k, v]) => matrix(k, v, index)).join("");
  const note = said(e, "note") ? `<p class="note">${escapeHtml(said(e, "note"))}</p>` : "";
  return `<details data-entry="${index}" data-layer="${e.layer}" data-phase="${e.phase}"${open ? " open" : ""}>
    <summary class="${e.kind}"><span class="phase">${tr(e.kind === "loss" ? "loss" : e.phase)}</span>
    ${escapeHtml(said(e, "title"))}${lang === "zh" ? "：" : ": "}<span class="eq">${escapeHtml(e.equation)}</span></summary>
    ${note}<div class="shapes">${tr("shapes")}${lang === "zh" ? "：" : ": "}${escapeHtml(shapes)}</div>
    <div class="values">${values}</div></details>`;
}

function beforeAfterHtml(id) {
  if (ledger.loss_after === null) return "";
  const before = fmt(ledger.loss, 6), after = fmt(ledger.loss_after, 6);
  return `<p class="note"${id ? ` id="${id}"` : ""} data-before="${ledger.loss}" data-after="${ledger.loss_after}">` +
    (lang === "zh" ? `这一批数据上的损失：更新前 <b>${before}</b>，更新后 <b>${after}</b>（同样的样本，新的权重）。`
                   : `The loss on this batch: <b>${before}</b> before the update, <b>${after}</b> after it (same rows, new weights).`) +
    "</p>";
}

function renderLedger() {
  if (!ledger) return;
  $("ledger-toggle").disabled = false;
  const loss = fmt(ledger.loss), after = ledger.loss_after === null ? null : fmt(ledger.loss_after);
  $("ledger-caption").textContent = lang === "zh"
    ? `第 ${ledger.step} 步：一批 ${ledger.n} 个样本，损失 ${loss}${after === null ? "" : `，更新后 ${after}`}`
    : `step ${ledger.step}: a batch of ${ledger.n} rows, loss ${loss}${after === null ? "" : ` → ${after} after the update`}`;
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
// page only points at what the server recorded.

let replay = null;               // the index of the entry shown, or null before the first
let replaying = false, replayTimer = null;

function stopReplay() {
  setReplaying(false);
  replay = null;
  $("replay").hidden = !ledger;
  $("replay-entry").replaceChildren();
  $("replay-where").textContent = "";
  delete $("replay").dataset.index;
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
  const n = ledger.entries.length, zh = lang === "zh";
  const what = { forward: zh ? "前向传播：从左到右，逐层算出每一层的输出" : "forward sweep, left to right: each layer computes its output",
                 loss: zh ? "损失：网络输出与标签比较，反向传播从这里开始" : "the loss: the output meets the labels, and the backward sweep starts here",
                 backward: zh ? "反向传播：从右到左，梯度逐层往回传" : "backward sweep, right to left: each layer passes the gradient back",
                 update: zh ? "更新：旧的 W，这一步的变化，新的 W" : "the update: old W, the step, new W" }[e.kind];
  const end = index === n - 1 ? (zh ? "（回放到此结束）" : " (the end of the replay)") : "";
  return zh ? `第 ${index + 1} / ${n} 项 · ${what}${end}` : `entry ${index + 1} of ${n} · ${what}${end}`;
}

function replayTo(index) {
  if (!ledger) return;
  replay = Math.max(0, Math.min(ledger.entries.length - 1, index));
  const e = ledger.entries[replay];
  // the ledger's own rendering of the entry, under the network; its update also gives the loss
  // before and after the step, on the same batch
  $("replay-entry").innerHTML = entryHtml(e, replay, true) + (e.phase === "update" ? beforeAfterHtml() : "");
  $("replay-where").textContent = sweepWords(e, replay);
  Object.assign($("replay").dataset, { index: replay, kind: e.kind, dense: e.dense === null ? "" : e.dense });
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
  if (e.dense !== null && ["W", "dW"].some((name) => name in e.values))
    lit.push(...svg.querySelectorAll(`line.weight[data-dense="${e.dense}"]`));
  for (const node of lit) node.classList.add("lit", e.kind);
}

function setReplaying(on) {
  replaying = on && Boolean(ledger);
  clearTimeout(replayTimer);
  $("replay-play").innerHTML = replaying ? `&#10074;&#10074; ${tr("Pause the replay")}` : `&#9654; ${tr("Replay the step")}`;
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
  $("ledger-toggle").innerHTML = (on ? "&#9662;" : "&#9656;") + ` ${tr("Ledger")}`;
  if (!ledger) {
    $("ledger-toggle").disabled = true;
    $("ledger-caption").textContent = tr("press Step to record one mini-batch");
    $("unit").hidden = true;
  }
}

// A unit's numbers for the batch: every per-unit column the ledger holds for its layer.
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
  const head = `<tr><th>row</th>${columns.map(([name]) => `<th>${name}[:, ${j}]</th>`).join("")}</tr>`;
  const body = Array.from({ length: n }, (_, i) =>
    `<tr><th>${ledger.rows[i]}</th>${columns.map(([, c]) => `<td>${fmt(c[i])}</td>`).join("")}</tr>`).join("");
  const where = selected.layer === state.network.sizes.length - 1 ? "the output layer" : `hidden layer ${selected.layer}`;
  box.innerHTML = `<b>unit ${j} of Dense layer ${k}</b> (${where}), for the batch of step ${ledger.step}
    <div><code>${scalars.map(escapeHtml).join("</code><br><code>")}</code></div>
    <table>${head}${body}</table>`;
  box.hidden = false;
}

// A connection's chain rule for the batch: ∂L/∂w_ij = Σ_rows a_i · δ_j, then its update.
function renderEdge() {
  const box = $("edge");
  if (!edge || !ledger) { box.hidden = true; return; }
  const { dense: k, i, j } = edge;
  const forward = ledger.entries.find((e) => e.dense === k && e.phase === "forward" && "W" in e.values);
  const backward = ledger.entries.find((e) => e.dense === k && e.dense_backward);
  const update = ledger.entries.find((e) => e.dense === k && e.phase === "update");
  if (!forward || !backward) { box.hidden = true; return; }
  const X = forward.values.X, dZ = backward.values.dZ, dW = backward.values.dW[i][j];
  const products = X.map((row, r) => row[i] * dZ[r][j]);
  const sum = products.reduce((a, b) => a + b, 0);
  const into = k === 0 ? `input x${i + 1}` : `unit ${i} of hidden layer ${k}`;
  const out = k === state.network.sizes.length - 2 ? `output unit ${j}` : `unit ${j} of hidden layer ${k + 1}`;
  const body = products.map((p, r) => `<tr><th>${ledger.rows[r]}</th><td>${fmt(X[r][i])}</td>
    <td>${fmt(dZ[r][j])}</td><td data-product="${p}">${fmt(p)}</td></tr>`).join("");
  let step = "";
  if (update) {
    const u = update.values;
    step = `<p>The update of this weight: <code>W_new = W + ΔW</code> =
      <span id="edge-old">${fmt(u.W[i][j], 6)}</span> + (${fmt(u["ΔW"][i][j], 6)}) =
      <b id="edge-new" data-value="${u.W_new[i][j]}">${fmt(u.W_new[i][j], 6)}</b>
      <small>(${escapeHtml(update.note)})</small></p>`;
  }
  box.innerHTML = `<b>the weight from ${into} to ${out}</b>: W[${i}][${j}] of Dense layer ${k}, for the batch of step ${ledger.step}
    <p>Chain rule: <code>∂L/∂w = Σ over rows a · δ</code>, with a = ${k === 0 ? "the input" : "the activation"} this
    weight multiplies (column ${i} of X) and δ = ∂L/∂Z of the unit it feeds (column ${j} of dZ).</p>
    <table><tr><th>row</th><th>a = X[r][${i}]</th><th>δ = dZ[r][${j}]</th><th>a · δ</th></tr>${body}
    <tr class="sum"><th>Σ</th><td></td><td></td><td id="edge-sum" data-value="${sum}">${fmt(sum, 6)}</td></tr></table>
    <p>The ledger's <code>dW[${i}][${j}]</code> = <b id="edge-dw" data-value="${dW}">${fmt(dW, 6)}</b>
    (from <code>dW = Xᵀ·dZ</code>: the same sum)</p>${step}`;
  box.hidden = false;
}

// -- your points, and taking the run home ----------------------------------------------

async function uploadCsv(event) {
  event.stopPropagation();  // not a setting change by itself: the upload decides
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  setPlaying(false);
  try {
    if (file.size > 65536) throw new Error(`the file is ${file.size} bytes; at most 65536 allowed`);
    // the points and the run on them in one request: refused together, so the run on screen
    // and the points the server keeps for this tab stay the same
    const asked = { ...readConfig(), dataset: "upload" };
    generation += 1;
    const answer = await api("POST", "/api/upload", { csv: await file.text(), config: asked });
    addUploadOption(answer.title);
    $("dataset").value = "upload";
    updateFeatureToggles();
    startRun(asked, answer);
    say(`${answer.rows} points, ${answer.classes} classes, moved into the frame: ` +
        `(x − [${answer.scale.centre.map((c) => fmt(c)).join(", ")}]) / ${fmt(answer.scale.scale)}`);
  } catch (error) {
    say(`the CSV was refused: ${error.message}`, true);
  }
}

function addUploadOption(title) {
  let option = $("dataset").querySelector("option[value=upload]");
  if (!option) {
    option = document.createElement("option");
    option.value = "upload";
    $("dataset").appendChild(option);
  }
  option.textContent = option.dataset.en = title;
  options.datasets.upload = { title, task: "classification", features: 2 };
}

async function download(path, fallback) {
  try {
    const response = await fetch(`${path}?session=${session}`);
    if (!response.ok) throw new Error((await response.json()).error);
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name ? name[1] : fallback;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    say(`the download failed: ${error.message}`, true);
  }
}

// -- wiring ------------------------------------------------------------------------------

function fill(select, values, labels = {}) {
  select.innerHTML = values.map((v) => `<option value="${v}">${escapeHtml(labels[v] || v)}</option>`).join("");
}

async function start() {
  const response = await fetch("/api/options");
  options = await response.json();
  const d = options.defaults;
  fill($("dataset"), Object.keys(options.datasets),
       Object.fromEntries(Object.entries(options.datasets).map(([k, v]) => [k, v.title])));
  fill($("activation"), options.activations, LABELS);
  fill($("optimizer"), options.optimizers, LABELS);
  fill($("output"), Object.keys(options.outputs), LABELS);
  fill($("l1"), PENALTIES); fill($("l2"), PENALTIES);
  fill($("dropout"), DROPOUTS, { 0: "none" });
  $("features").insertAdjacentHTML("beforeend", Object.entries(options.features).map(([name, f]) =>
    `<label class="toggle"><input type="checkbox" value="${name}"> ${escapeHtml(f.label)}</label>`).join(""));
  writeConfig(d);
  const fromUrl = configFromUrl();
  writeConfig(fromUrl);
  lang = new URLSearchParams(location.hash.slice(1)).get("lang") === "zh" ? "zh" : "en";
  $("lang").value = lang;
  applyLanguage();
  $("lang").addEventListener("change", (event) => {
    event.stopPropagation();
    lang = $("lang").value;
    applyLanguage();
    const params = new URLSearchParams(location.hash.slice(1));
    params.set("lang", lang);
    history.replaceState(null, "", `#${params}`);
  });
  $("controls").addEventListener("change", configure);
  $("controls").addEventListener("submit", (e) => { e.preventDefault(); configure(); });
  $("noise").addEventListener("input", showOutputs);
  $("validation").addEventListener("input", showOutputs);
  $("dataset").addEventListener("change", updateFeatureToggles);
  $("reset").addEventListener("click", configure);
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
  document.body.dataset.session = session;
  await configure();
  if (!lastGood) { writeConfig(d); await configure(); }  // a URL the server refused: the defaults
  if (fromUrl.dataset !== undefined && !(fromUrl.dataset in options.datasets)) {
    say(fromUrl.dataset === "upload" ? tr("Your points are not on the server any more (a reload or a new tab starts a new session): showing the default data set; choose your CSV again.")
                                     : tr("The link names a data set this playground does not have: showing the default one."), true);
  }
  document.body.dataset.ready = "true";
}

start().catch((error) => say(`could not start: ${error.message}`, true));
