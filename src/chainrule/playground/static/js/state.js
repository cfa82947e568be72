// The page's one state object, and the only functions that change it. Every other module
// reads what it needs from here (or is handed it as arguments) and calls these to change it.
// This module imports nothing.

// One session per tab: made here, sent with every request, freed when the tab goes.
export const session = Array.from(crypto.getRandomValues(new Uint8Array(12)),
                                  (b) => b.toString(16).padStart(2, "0")).join("");

export const page = {
  lang: "en",
  tables: {},              // tables[lang]: that language's words (key -> template)
  options: null,           // /api/options: the server's choices, limits and defaults
  run: null,               // the server's latest state of the run on screen
  points: null,            // its training and validation points
  ledger: null,            // the last Step's ledger
  weight: null,            // the selected connection's chain rule, as the server summed it
  lastGood: null,          // the settings of the run on screen: a refused change returns to them
  playing: false, busy: false,
  selected: null,          // the unit clicked: {layer, unit}
  edge: null,              // the connection clicked: {dense, i, j}
  hovered: null,           // the unit under the pointer: {layer, unit}
  unitView: null,          // the full-size picture of the unit shown in the main plot
  unitAsked: null,         // the unit whose picture is being fetched
  uploadedRows: null,      // the rows of the CSV the run on screen trained on, if any
  statusWords: null,       // the status line's key and arguments (redrawn in a new language)
  loops: 0,                // the newest play loop's number: an older loop stops
  pending: Promise.resolve(),  // the play loop's request in flight, if any
  generation: 0,           // bumped by every reset: late answers for an old run are dropped
  replay: null,            // the ledger entry the replay shows, or null before the first
  replaying: false, replayTimer: null,
};

export function setTables(options, tables) {
  page.options = options;
  options.languages.forEach((code, i) => { page.tables[code] = tables[i]; });
}

export function setLanguage(code) { page.lang = code; }

export function showRun(run) { page.run = run; }

// A new run on screen: its settings, its points, no ledger and nothing selected yet.
export function startRun(asked, result) {
  page.lastGood = asked;
  page.points = result.data;
  Object.assign(page, { ledger: null, selected: null, edge: null, weight: null });
}

// Every reset: answers for an older run are dropped. Returns the new run's number.
export function newGeneration() { return ++page.generation; }

export function setBusy(on) { page.busy = on; }

// Play on or off; on, the new loop's number (an older loop stops).
export function setPlaying(on) {
  page.playing = on;
  return on ? ++page.loops : page.loops;
}

export function setPending(request) { page.pending = request; }

export function keepLedger(ledger) { page.ledger = ledger; }

export function selectUnit(unit) { Object.assign(page, { selected: unit, edge: null, weight: null }); }

export function selectEdge(edge) { Object.assign(page, { edge, selected: null, weight: null }); }

export function clearSelection() { page.selected = null; }

export function setWeight(answer) { page.weight = answer; }

export function hover(unit) { page.hovered = unit; }

export function askUnit(unit) { page.unitAsked = unit; }

export function setUnitView(view) { page.unitView = view; }

// The rows of the CSV the run on screen trained on (null: none), and the data set they make
// as the server describes it.
export function setUploaded(rows, described = null) {
  page.uploadedRows = rows;
  if (described !== null) page.options.datasets.upload = described;
}

export function setStatus(words) { page.statusWords = words; }

export function setReplay(index) { page.replay = index; }

export function setReplaying(on, timer = null) {
  clearTimeout(page.replayTimer);
  page.replaying = on;
  page.replayTimer = timer;
}
