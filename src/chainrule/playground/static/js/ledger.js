// The chain-rule ledger of the last Step, as the server recorded it: one entry per layer call,
// each with its equation, its arrays' shapes and every number. Nothing here computes.
import { escapeHtml, fmt } from "./format.js";
import { said, t } from "./words.js";

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

// Entry `e` (number `index`) of a ledger, open or closed.
export function entryHtml(e, index, open) {
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

// The batch's loss before and after the step, as the server measured both.
export function beforeAfterHtml(ledger, id) {
  if (ledger.loss_after === null) return "";
  return `<p class="note"${id ? ` id="${id}"` : ""} data-before="${ledger.loss}" data-after="${ledger.loss_after}">` +
    escapeHtml(t("ledger.before_after", { before: fmt(ledger.loss, 6), after: fmt(ledger.loss_after, 6) })) + "</p>";
}

// `ledger` into the page's ledger panel, keeping open the entries that were open.
export function renderLedger(ledger) {
  document.getElementById("ledger-toggle").disabled = false;
  const loss = fmt(ledger.loss);
  document.getElementById("ledger-caption").textContent = ledger.loss_after === null
    ? t("ledger.caption", { step: ledger.step, n: ledger.n, loss })
    : t("ledger.caption_after", { step: ledger.step, n: ledger.n, loss, after: fmt(ledger.loss_after) });
  const open = new Set(Array.from(document.querySelectorAll("#ledger details[open]"), (d) => d.dataset.entry));
  const parts = [`<p class="note">${escapeHtml(said(ledger, "note"))}</p>`];
  ledger.entries.forEach((e, index) => parts.push(entryHtml(e, index, open.has(String(index)))));
  parts.push(`<p class="note">${escapeHtml(said(ledger, "update"))}</p>`, beforeAfterHtml(ledger, "loss-before-after"));
  document.getElementById("ledger").innerHTML = parts.join("");
  document.getElementById("replay").hidden = false;
}

// The ledger panel open or closed; without a ledger, the hint to press Step.
export function showLedger(on, ledger) {
  const box = document.getElementById("ledger"), toggle = document.getElementById("ledger-toggle");
  box.hidden = !on;
  toggle.setAttribute("aria-expanded", String(on));
  toggle.textContent = `${on ? "▾" : "▸"} ${t("button.ledger")}`;
  if (!ledger) {
    toggle.disabled = true;
    document.getElementById("ledger-caption").textContent = t("ledger.press_step");
    document.getElementById("unit").hidden = true;
  }
}
