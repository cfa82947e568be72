// A unit's and a connection's numbers for the last Step's batch: picked from the ledger and
// from the server's /api/connection answer, never computed here.
import { escapeHtml, fmt } from "./format.js";
import { unitName } from "./draw.js";
import { t } from "./words.js";

// Unit `selected` ({layer, unit}) of `net`: every per-unit column `ledger` holds for its layer.
export function renderUnit(box, ledger, selected, net, features) {
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
  box.innerHTML = `<b>${escapeHtml(unitName(net, features, selected.layer, j))}</b> ${escapeHtml(t("unit.panel", { step: ledger.step, j, index: net.dense_layers[k] }))}
    <div><code>${scalars.map(escapeHtml).join("</code><br><code>")}</code></div>
    <table>${head}${body}</table>`;
  box.hidden = false;
}

// Connection `edge` ({dense, i, j}) of `net`: its weight now, which can be set by hand within
// `limit` (as in TensorFlow Playground), and after a Step its chain rule for the batch as the
// server summed it (`weight`): ∂L/∂w = Σ_rows a·δ.
export function renderEdge(box, edge, net, weight, { features, limit, lang }) {
  if (!edge || !net) { box.hidden = true; return; }
  const { dense: k, i, j } = edge, now = net.layers[k].W[i][j];
  const from = unitName(net, features, k, i), to = unitName(net, features, k + 1, j), [lo, hi] = limit;
  const input = box.querySelector("#edge-value");
  const editing = input !== null && document.activeElement === input, typed = editing ? input.value : null;
  box.innerHTML = `<b>${escapeHtml(t("edge.head", { from, to }))}</b>${escapeHtml(t("edge.where", { i, j, index: net.dense_layers[k] }))}
    <p class="edit"><label>${escapeHtml(t("edge.set"))} <input id="edge-value" type="number" step="any"
      min="${lo}" max="${hi}" value="${now}" title="${escapeHtml(t("tip.weight_set", { lo, hi }))}"></label>
      <button id="edge-set" type="button">${escapeHtml(t("button.set"))}</button></p>
    ${weight ? chainHtml(weight, from, to, lang) : `<p class="hint">${escapeHtml(t("edge.after_step"))}</p>`}`;
  if (editing) { const again = box.querySelector("#edge-value"); again.value = typed; again.focus(); }
  box.hidden = false;
}

function chainHtml(w, from, to, lang) {
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
