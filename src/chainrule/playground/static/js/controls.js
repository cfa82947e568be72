// The settings form: built from the server's options (its menus, limits and defaults), read
// into a configure request, written back from a run or the URL's #fragment.
import { escapeHtml } from "./format.js";
import { page } from "./state.js";
import { languageName, t, tn } from "./words.js";

const $ = (id) => document.getElementById(id);
const FIELDS = ["dataset", "noise", "size", "seed", "validation", "features", "hidden", "activation",
                "output", "optimizer", "lr", "batch_size", "l1", "l2", "dropout"];
const featureBoxes = () => document.querySelectorAll("#features input");

export function hiddenSizes() {
  const text = $("hidden").value.trim();
  return text === "" ? [] : text.split(/[\s,]+/).filter(Boolean).map(Number);
}

export function readConfig() {
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
export function updateFeatureToggles() {
  const { options } = page, columns = options.datasets[$("dataset").value].features;
  for (const box of featureBoxes()) {
    const off = options.features[box.value].columns > columns;
    if (off && !box.disabled) box.dataset.wanted = String(box.checked);
    if (!off && box.dataset.wanted !== undefined) { box.checked = box.dataset.wanted === "true"; delete box.dataset.wanted; }
    if (off) box.checked = false;
    box.dataset.off = String(off);
  }
  const on = document.querySelectorAll("#features input:checked");
  if (on.length === 0) document.querySelector("#features input").checked = true;  // x₁
  for (const box of featureBoxes()) {
    const last = box.checked && document.querySelectorAll("#features input:checked").length === 1;
    box.disabled = box.dataset.off === "true" || last;
    box.dataset.last = String(last);
    box.parentElement.classList.toggle("off", box.dataset.off === "true");
    featureTip(box);
  }
}

export function featureTip(box) {
  box.parentElement.title = box.dataset.off === "true" ? t("tip.feature_x2", { dataset: $("dataset").value })
    : box.dataset.last === "true" ? t("tip.feature_last")
    : t("tip.feature", { feature: page.options.features[box.value].label });
}

// Hidden layers and their units, chosen with ± within the server's limits (never a refused size).
export function drawUnitsControl() {
  if (!page.options) return;
  const { limits } = page.options, sizes = hiddenSizes(), [lo, hi] = limits.units, [fewest, most] = limits.layers;
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

// The hidden sizes after a ± click: a layer more (as wide as the last, or the server's
// default width), a layer fewer, or a unit more or fewer in one layer.
export function changedSizes(button) {
  const sizes = hiddenSizes();
  if (button.id === "layers-minus") return sizes.slice(0, -1);
  if (button.id === "layers-plus") return [...sizes, sizes.length ? sizes[sizes.length - 1] : page.options.defaults.hidden[0]];
  sizes[Number(button.dataset.layer)] += Number(button.dataset.by);
  return sizes;
}

export function setHidden(sizes) {
  $("hidden").value = sizes.join(", ");
  drawUnitsControl();
}

// Put settings into the form (from the URL, or back to the last good ones).
export function writeConfig(config) {
  for (const key of FIELDS) {
    if (!(key in config)) continue;
    if (key === "features") {
      // a list, a comma-separated string (from the URL), or null: the data's own columns
      const on = config.features === null
        ? Object.keys(page.options.features).filter((name) => page.options.features[name].raw)
        : [].concat(config.features).join(",").split(",");
      for (const box of featureBoxes()) { box.checked = on.includes(box.value); delete box.dataset.wanted; }
    } else if (key === "dataset" && !(config.dataset in page.options.datasets)) {
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

export function showOutputs() {
  $("noise-out").textContent = Number($("noise").value).toFixed(2);
  $("validation-out").textContent = `${Math.round(100 * Number($("validation").value))}%`;
}

// The setup in the URL's fragment, so that a reload or a shared link restores it.
export function configFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1)), config = {};
  for (const key of FIELDS) if (params.has(key)) config[key] = params.get(key);
  return config;
}

export const languageFromUrl = () => new URLSearchParams(location.hash.slice(1)).get("lang");

export function writeUrl(config, lang) {
  const params = config ? new URLSearchParams() : new URLSearchParams(location.hash.slice(1));
  if (config) for (const key of FIELDS) params.set(key, Array.isArray(config[key]) ? config[key].join(",") : config[key]);
  params.set("lang", lang);
  history.replaceState(null, "", `#${params}`);
}

// A menu's options by value; their words are set by wordControls (numbers stay as they are).
function fillMenu(select, values) {
  select.innerHTML = values.map((v) => `<option value="${escapeHtml(v)}">${escapeHtml(v)}</option>`).join("");
}

// The form's menus, limits and defaults, as the server sends them (`options`).
export function buildControls(options) {
  const limits = options.limits;
  for (const key of ["noise", "size", "seed", "lr", "batch_size", "validation"]) {
    $(key).min = limits[key][0];
    $(key).max = limits[key][1];
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
    `<option value="${code}">${escapeHtml(languageName(code))}</option>`).join("");
  $("features").insertAdjacentHTML("beforeend", Object.entries(options.features).map(([name, f]) =>
    `<label class="toggle"><input type="checkbox" value="${name}"> ${escapeHtml(f.label)}</label>`).join(""));
}

export function datasetName(name) {
  return name === "upload" ? t("dataset.upload_rows", { rows: page.uploadedRows ?? 0 }) : t(`dataset.${name}`);
}

// The menu's entry for the tab's own points, once it has sent some.
export function addUploadOption() {
  let option = $("dataset").querySelector("option[value=upload]");
  if (!option) {
    option = document.createElement("option");
    option.value = "upload";
    $("dataset").appendChild(option);
  }
  option.textContent = datasetName("upload");
}

// The form's words in the page's language: its menus' entries and its tooltips.
export function wordControls() {
  const { options } = page, menus = { activation: "activation", optimizer: "optimizer", output: "output" };
  $("csv-button").title = t("tip.csv", { lo: options.upload.rows[0], hi: options.upload.rows[1] });
  for (const option of $("dataset").options) option.textContent = datasetName(option.value);
  for (const [id, kind] of Object.entries(menus))
    for (const option of $(id).options) option.textContent = t(`${kind}.${option.value}`);
  for (const option of $("speed").options) option.textContent = tn("speed", Number(option.value));
  for (const option of $("dropout").options)
    option.textContent = Number(option.value) === 0 ? t("dropout.none") : option.value;
  for (const box of featureBoxes()) featureTip(box);
  $("csv-name").textContent = page.uploadedRows === null ? "" : t("upload.loaded", { rows: page.uploadedRows });
  drawUnitsControl();
}
