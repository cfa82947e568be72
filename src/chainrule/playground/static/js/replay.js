// The last Step replayed on the network: its ledger entries in their order (the forward sweep
// lights each layer left to right, then the loss, then the backward sweep right to left, then
// each layer's update). The page only points at what the server recorded. A replay belongs to
// one Step: Play or a new Step ends it, and its caption names the step it shows.
import { highlight } from "./draw.js";
import { beforeAfterHtml, entryHtml } from "./ledger.js";
import * as state from "./state.js";
import { t } from "./words.js";

const { page } = state;
const $ = (id) => document.getElementById(id);

// The replayed entry, or null (for the diagram's highlight).
export const replayedEntry = () => (page.ledger && page.replay !== null ? page.ledger.entries[page.replay] : null);

export function stopReplay() {
  setReplaying(false);
  state.setReplay(null);
  const ledger = page.ledger;
  $("replay").hidden = !ledger;
  $("replay-entry").replaceChildren();
  $("replay-where").textContent = ledger ? t("replay.ready", { step: ledger.step }) : "";
  delete $("replay").dataset.index;
  $("replay").dataset.step = ledger ? ledger.step : "";
  for (const node of document.querySelectorAll("#ledger details.current")) node.classList.remove("current");
  highlight($("network"), page.run && page.run.network, null);
  replayButtons();
}

function replayButtons() {
  const last = page.ledger ? page.ledger.entries.length - 1 : -1, focused = document.activeElement;
  $("replay-prev").disabled = page.replay === null || page.replay <= 0;
  $("replay-next").disabled = !page.ledger || page.replay === last;
  // a button disabled under the keyboard's focus would drop it: it goes to the other one
  if (focused && focused.disabled && focused.id === "replay-prev") $("replay-next").focus();
  if (focused && focused.disabled && focused.id === "replay-next") $("replay-prev").focus();
}

function sweepWords(ledger, e, index) {
  const n = ledger.entries.length;
  const where = t("replay.where", { step: ledger.step, index: index + 1, n, what: t(`replay.what.${e.kind}`) });
  return index === n - 1 ? `${where}${t("replay.end")}` : where;
}

export function replayTo(index) {
  const ledger = page.ledger;
  if (!ledger) return;
  state.setReplay(Math.max(0, Math.min(ledger.entries.length - 1, index)));
  const at = page.replay, e = ledger.entries[at];
  // the ledger's own rendering of the entry, under the network; its update also gives the loss
  // before and after the step, on the same batch
  $("replay-entry").innerHTML = entryHtml(e, at, true) + (e.phase === "update" ? beforeAfterHtml(ledger) : "");
  $("replay-where").textContent = sweepWords(ledger, e, at);
  Object.assign($("replay").dataset, { index: at, kind: e.kind, dense: e.dense === null ? "" : e.dense, step: ledger.step });
  for (const node of document.querySelectorAll("#ledger details[data-entry]")) {
    const current = node.dataset.entry === String(at);
    node.classList.toggle("current", current);
    if (current) node.open = true;
  }
  highlight($("network"), page.run && page.run.network, e);
  replayButtons();
}

export function setReplaying(on) {
  const replaying = on && Boolean(page.ledger);
  state.setReplaying(replaying);
  $("replay-play").textContent = replaying ? `❚❚ ${t("button.replay_pause")}` : `▶ ${t("button.replay")}`;
  $("replay-play").setAttribute("aria-pressed", String(replaying));
  if (!replaying) return;
  if (page.replay === null || page.replay === page.ledger.entries.length - 1) replayTo(0);  // from the start
  state.setReplaying(true, setTimeout(replayTick, Number($("replay-speed").value)));
}

function replayTick() {
  if (!page.replaying || !page.ledger) return;
  replayTo(page.replay + 1);
  if (page.replay === page.ledger.entries.length - 1) setReplaying(false);  // ends on the last update
  else state.setReplaying(true, setTimeout(replayTick, Number($("replay-speed").value)));
}

export function replayStep(by) {
  if (!page.ledger) return;
  setReplaying(false);
  replayTo(page.replay === null ? 0 : page.replay + by);
}

// The replay's keys: ← and → step, Home and End go to the first and the last entry.
export function replayKey(event) {
  if (event.target.tagName === "SELECT") return;  // its own arrows choose a speed
  const moves = { ArrowLeft: () => replayStep(-1), ArrowRight: () => replayStep(1),
                  Home: () => { setReplaying(false); replayTo(0); },
                  End: () => { setReplaying(false); replayTo(page.ledger.entries.length - 1); } };
  if (moves[event.key] && page.ledger) { event.preventDefault(); moves[event.key](); }
}
