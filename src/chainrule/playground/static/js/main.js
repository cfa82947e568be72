// chainrule playground: this page only draws. Every number comes from the server, which
// trains a real chainrule network; nothing of the math is computed here (a connection's
// chain rule, Σ a·δ over the batch, is summed by the server too: /api/connection). Every
// word comes from the tables static/words.<lang>.json (words.js); the limits, defaults and
// menu choices come from /api/options (controls.js). This module wires the others together.
import { api, closeSession, fetchStart } from "./api.js";
import * as controls from "./controls.js";
import { drawLoss, drawNetwork, drawPicture, sameUnit, unitName } from "./draw.js";
import { fmt } from "./format.js";
import { renderLedger, showLedger } from "./ledger.js";
import { renderEdge, renderUnit } from "./panels.js";
import { replayKey, replayStep, replayTo, replayedEntry, setReplaying, stopReplay } from "./replay.js";
import * as state from "./state.js";
import { download, sendPoints } from "./upload.js";
import { spoken, t, wordArgs } from "./words.js";

const { page } = state;
const $ = (id) => document.getElementById(id);
const FRAME_MS = 120;            // at most ~8 screen updates a second while playing

// -- the status line -------------------------------------------------------------------------

function say(key, args = {}, error = false) {
  state.setStatus(key ? { key, args, error } : null);
  $("status").textContent = key ? t(key, wordArgs(args)) : "";
  $("status").className = error ? "error" : "";
}

const sayError = (error) => { const words = spoken(error); say(words.key, words.args, true); };

// -- drawing what the server sent ------------------------------------------------------------

const features = () => page.options.features;
const nameOf = (column, j) => unitName(page.run.network, features(), column, j);

function render(run) {
  state.showRun(run);
  $("step-count").textContent = run.step;
  $("epoch-count").textContent = run.epoch;
  if (run.diverged) say("status.diverged", { step: run.diverged_at }, true);
  showNetwork();
  showPicture();
  drawLoss($("loss-chart"), run.history);
  if (viewedUnit()) fetchUnitView();  // the unit shown follows the training
  showEdge();
  const m = run.metrics;
  const rows = [["", t("legend.training"), t("legend.validation")], [t("metric.loss"), fmt(m.loss), fmt(m.val_loss)]];
  if ("accuracy" in m) rows.push([t("metric.accuracy"), fmt(m.accuracy, 3), fmt(m.val_accuracy, 3)]);
  $("metrics").innerHTML = rows.map((r, i) =>
    `<tr>${r.map((c, j) => (i === 0 || j === 0 ? `<th>${c}</th>` : `<td>${c}</td>`)).join("")}</tr>`).join("");
  $("metrics").dataset.loss = m.loss;
  $("metrics").dataset.step = run.step;
}

const onNetwork = {
  unit: (unit) => { state.selectUnit(unit); showNetwork(); showUnit(); showEdge(); fetchUnitView(); },
  edge: (edge) => { state.selectEdge(edge); showNetwork(); showUnit(); fetchEdge(); },
  enter: (unit) => { state.hover(unit); fetchUnitView(); },
  leave: () => { state.hover(null); fetchUnitView(); },
};

function showNetwork() {
  drawNetwork($("network"), page.run.network, { selected: page.selected, edge: page.edge, hovered: page.hovered,
                                                features: features(), entry: replayedEntry() }, onNetwork);
}

const showUnit = () => renderUnit($("unit"), page.ledger, page.selected, page.run && page.run.network, features());
const showEdge = () => renderEdge($("edge"), page.edge, page.run && page.run.network, page.weight,
                                  { features: features(), limit: page.options.limits.weight, lang: page.lang });

// The main plot: the network's output, or the output of the unit under the pointer (or
// selected) once the server has sent its picture.
function showPicture() {
  const run = page.run, view = page.unitView;
  const unit = view && sameUnit(viewedUnit(), { layer: view.column, unit: view.unit }) ? view : null;
  const regression = run.picture.kind === "curve";
  $("picture-title").textContent = unit ? nameOf(unit.column, unit.unit) : t(regression ? "heading.fit" : "heading.boundary");
  $("picture-what").textContent = unit ? t(regression ? "picture.unit_back_x" : "picture.unit_back") : "";
  $("picture").dataset.showing = unit ? `${unit.column}:${unit.unit}` : "output";
  drawPicture($("picture"), unit || run.picture, page.points,
              { unit: Boolean(unit), regression, showVal: $("show-test").checked, discrete: $("discretize").checked });
}

const viewedUnit = () => page.hovered || page.selected;

async function fetchUnitView() {
  const want = viewedUnit();
  if (!want) { state.setUnitView(null); state.askUnit(null); showPicture(); return; }
  if (page.unitAsked && sameUnit(page.unitAsked, want)) return;  // already on its way
  state.askUnit(want);
  try {
    const answer = await api("GET", "/api/unit", null, { column: want.layer, unit: want.unit });
    if (sameUnit(viewedUnit(), want)) { state.setUnitView(answer); showPicture(); }
  } catch (error) {
    sayError(error);
  } finally {
    if (sameUnit(page.unitAsked, want)) state.askUnit(null);
  }
}

// A connection's chain rule over the last Step's batch, as the server summed it.
async function fetchEdge() {
  state.setWeight(null);
  showEdge();
  if (!page.edge || !page.ledger) return;
  const asked = page.edge;
  try {
    const answer = await api("GET", "/api/connection", null, { layer: asked.dense, i: asked.i, j: asked.j });
    if (page.edge === asked) state.setWeight(answer);
  } catch (error) {
    sayError(error);
  }
  showEdge();
}

async function setWeight() {
  const value = Number($("edge-value").value), asked = page.edge;
  try {
    render(await api("POST", "/api/weight", { layer: asked.dense, i: asked.i, j: asked.j, value }));
    say("status.weight_set", { from: nameOf(asked.dense, asked.i), to: nameOf(asked.dense + 1, asked.j), w: fmt(value, 6) });
  } catch (error) {
    sayError(error);
  }
}

// -- runs ------------------------------------------------------------------------------------

async function configure() {
  setPlaying(false);
  controls.showOutputs();
  state.setBusy(true);
  state.newGeneration();
  try {
    const asked = controls.readConfig();
    let result;
    try {
      result = await api("POST", "/api/configure", asked);
    } catch (error) {
      if (page.lastGood) controls.writeConfig(page.lastGood);  // the form shows the run still on screen
      say("status.went_back", { message: spoken(error) }, true);
      return;
    }
    if (asked.dataset !== "upload") state.setUploaded(null);
    startRun(asked, result);
    say(null);
  } finally {
    state.setBusy(false);
  }
}

// A new run on screen: its settings in the URL, its points, no ledger yet.
function startRun(asked, result) {
  state.startRun(asked, result);
  controls.writeUrl(asked, page.lang);
  stopReplay();
  showLedger(false, page.ledger);
  render(result);
}

async function loop(token) {
  const run = page.generation;
  while (page.playing && token === page.loops) {
    const started = performance.now();
    try {
      const request = api("POST", "/api/train", { steps: Number($("speed").value) });
      state.setPending(request.catch(() => null));
      const result = await request;
      if (run !== page.generation) break;                // reset while the request was out: an old run
      if (result.step >= page.run.step) render(result);  // paused meanwhile: still the server's latest
      if (!page.playing || token !== page.loops) break;
    } catch (error) {
      sayError(error);
      setPlaying(false);
      break;
    }
    if (page.run.diverged) setPlaying(false);
    await new Promise((r) => setTimeout(r, Math.max(0, FRAME_MS - (performance.now() - started))));
  }
}

// Play trains on and so ends the replay of the last Step: its ledger stays, named by its step.
function setPlaying(on) {
  const token = state.setPlaying(on);
  $("play").textContent = on ? `❚❚ ${t("button.pause")}` : `▶ ${t("button.play")}`;
  $("play").title = t(on ? "tip.pause" : "tip.play");
  $("play").setAttribute("aria-pressed", String(on));
  if (on) {
    if (page.replay !== null || page.replaying) stopReplay();
    loop(token);
  }
}

async function step() {
  if (page.busy) return;
  setPlaying(false);
  state.setBusy(true);
  try {
    await page.pending;  // a Step pressed mid-play comes after the training request already out
    const result = await api("POST", "/api/step", {});
    render(result);
    if (result.ledger) {
      state.keepLedger(result.ledger);
      stopReplay();          // a new Step ends the replay of the one before
      renderLedger(page.ledger);
      showLedger(true, page.ledger);
      showUnit();
      await fetchEdge();
    }
  } catch (error) {
    sayError(error);
  } finally {
    state.setBusy(false);
  }
}

async function uploadCsv(event) {
  event.stopPropagation();  // not a setting change by itself: the upload decides
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  setPlaying(false);
  try {
    const asked = { ...controls.readConfig(), dataset: "upload" };
    state.newGeneration();
    const answer = await sendPoints(file, asked);
    state.setUploaded(answer.rows, answer.described);
    controls.addUploadOption();
    $("dataset").value = "upload";
    controls.updateFeatureToggles();
    startRun(asked, answer);
    $("csv-name").textContent = t("upload.loaded", { rows: answer.rows });
    say("status.uploaded", { rows: answer.rows, classes: answer.classes,
                             centre: answer.scale.centre.map((c) => fmt(c)), scale: fmt(answer.scale.scale) });
  } catch (error) {
    say("status.csv_refused", { message: spoken(error) }, true);
  }
}

async function save(path, fallback) {
  try {
    await download(path, fallback);
  } catch (error) {
    say("status.download_failed", { message: spoken(error) }, true);
  }
}

// -- the language ------------------------------------------------------------------------------

// Every marked element gets its word; menus, panels and plots are drawn again in the language.
function applyLanguage() {
  document.documentElement.lang = t("page.lang_tag");
  document.title = t("page.title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of document.querySelectorAll("[data-t-title]")) node.title = t(node.dataset.tTitle);
  for (const node of document.querySelectorAll("[data-t-aria]")) node.setAttribute("aria-label", t(node.dataset.tAria));
  controls.wordControls();
  setPlaying(page.playing);
  setReplaying(page.replaying);
  showLedger(!$("ledger").hidden, page.ledger);
  if (page.ledger) {  // the ledger's own words come from the server in every language
    const open = !$("ledger").hidden;
    renderLedger(page.ledger);
    showLedger(open, page.ledger);
    if (page.replay !== null) replayTo(page.replay);
  }
  if (page.statusWords) say(page.statusWords.key, page.statusWords.args, page.statusWords.error);
  if (page.run) render(page.run);
  showUnit();
  showEdge();
}

function setLanguage(code) {
  state.setLanguage(code);
  $("lang").value = code;
  applyLanguage();
  controls.writeUrl(null, code);
}

// -- wiring ------------------------------------------------------------------------------------

function wire() {
  $("lang").addEventListener("change", (event) => { event.stopPropagation(); setLanguage($("lang").value); });
  // the display options redraw; every other control starts a new run
  $("controls").addEventListener("change", (event) => {
    if (event.target.dataset.display !== undefined) { if (page.run) showPicture(); }
    else if (event.target.id !== "csv") configure();
  });
  $("controls").addEventListener("submit", (e) => { e.preventDefault(); configure(); });
  $("noise").addEventListener("input", controls.showOutputs);
  $("validation").addEventListener("input", controls.showOutputs);
  $("dataset").addEventListener("change", controls.updateFeatureToggles, true);
  $("features").addEventListener("change", controls.updateFeatureToggles, true);
  const resize = (button) => { controls.setHidden(controls.changedSizes(button)); configure(); };
  $("layers-minus").addEventListener("click", (event) => resize(event.currentTarget));
  $("layers-plus").addEventListener("click", (event) => resize(event.currentTarget));
  $("units").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-layer]");
    if (button && !button.disabled) resize(button);
  });
  $("edge").addEventListener("click", (event) => { if (event.target.id === "edge-set") setWeight(); });
  $("edge").addEventListener("keydown", (event) => {
    if (event.target.id === "edge-value" && event.key === "Enter") { event.preventDefault(); setWeight(); }
  });
  // a click on the plot returns it to the network's output
  $("picture").addEventListener("click", () => {
    if (!page.selected) return;
    state.clearSelection(); showNetwork(); showUnit(); fetchUnitView();
  });
  // an edit of the URL's #fragment in this tab: its settings (and language) take effect
  window.addEventListener("hashchange", applyHash);
  $("reset").addEventListener("click", configure);
  $("csv-button").addEventListener("click", () => $("csv").click());
  $("csv").addEventListener("change", uploadCsv);
  $("export-model").addEventListener("click", () => save("/api/export/model", "model.safetensors"));
  $("export-script").addEventListener("click", () => save("/api/export/script", "chainrule_playground.py"));
  $("play").addEventListener("click", () => { if (!page.busy) setPlaying(!page.playing); });
  $("step").addEventListener("click", step);
  $("ledger-toggle").addEventListener("click", () => showLedger($("ledger").hidden, page.ledger));
  $("replay-play").addEventListener("click", () => setReplaying(!page.replaying));
  $("replay-prev").addEventListener("click", () => replayStep(-1));
  $("replay-next").addEventListener("click", () => replayStep(1));
  $("replay").addEventListener("keydown", replayKey);
  window.addEventListener("pagehide", closeSession);
}

// A link naming data the server does not have (an upload lives with its tab's session).
function sayUnknownDataset(dataset) {
  if (dataset !== undefined && !(dataset in page.options.datasets)) {
    say(dataset === "upload" && page.uploadedRows === null ? "status.upload_gone" : "status.unknown_dataset",
        { dataset }, true);
  }
}

async function applyHash() {
  const config = controls.configFromUrl(), asked = controls.languageFromUrl();
  if (page.options.languages.includes(asked) && asked !== page.lang) setLanguage(asked);
  controls.writeConfig(config);
  await configure();
  sayUnknownDataset(config.dataset);
}

async function start() {
  const { options, tables } = await fetchStart();
  state.setTables(options, tables);
  const asked = controls.languageFromUrl();
  state.setLanguage(options.languages.includes(asked) ? asked : options.languages[0]);
  controls.buildControls(options);
  controls.writeConfig(options.defaults);
  const fromUrl = controls.configFromUrl();
  controls.writeConfig(fromUrl);
  $("lang").value = page.lang;
  applyLanguage();
  wire();
  document.body.dataset.session = state.session;
  await configure();
  if (!page.lastGood) { controls.writeConfig(options.defaults); await configure(); }  // a URL the server refused
  sayUnknownDataset(fromUrl.dataset);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  const message = page.tables[page.lang] ? t("status.could_not_start", { reason: error.message }) : String(error);
  $("status").textContent = message;
  $("status").className = "error";
});
