// How the page writes numbers and text into its HTML. Imports nothing.

// A number as the panels show it: 4 significant digits, exponents when very large or small.
export function fmt(x, digits = 4) {
  if (x === null || x === undefined) return "—";
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e4 || a < 1e-3 ? x.toExponential(2) : x.toPrecision(digits).replace(/\.?0+$/, "");
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
