// The page's words: every word comes from the tables static/words.<lang>.json (fetched at
// start, kept in the state), filled as the server's words.fill does. Imports only the state.
import { page } from "./state.js";

// A template filled as the server's words.fill does: {name} by args.name, {name|kind} by the
// table's word for kind.<value>; a list joined by the table's separator.
export function fill(template, args, table) {
  return template.replace(/\{(\w+)(?:\|(\w+))?\}/g, (_, name, kind) => {
    const one = (v) => (kind ? table[`${kind}.${v}`] ?? String(v) : String(v));
    const value = args[name];
    if (value === undefined) throw new Error(`the word ${template} needs ${name}`);
    return Array.isArray(value) ? value.map(one).join(table["list.separator"]) : one(value);
  });
}

// The word `key` in the page's language, its slots filled from `args`.
export function t(key, args = {}) {
  const table = page.tables[page.lang];
  if (!(key in table)) throw new Error(`no word ${key} in ${page.lang}`);
  return fill(table[key], args, table);
}

// "1 step" / "10 steps": a count's word (key.one or key.other).
export const tn = (key, n, args = {}) => t(`${key}.${n === 1 ? "one" : "other"}`, { n, ...args });

// Arguments that are themselves messages ({key, args}) are worded first.
export function wordArgs(args) {
  return Object.fromEntries(Object.entries(args).map(([k, v]) =>
    [k, v && typeof v === "object" && "key" in v ? t(v.key, wordArgs(v.args || {})) : v]));
}

// The words of an error: the server's (or the page's own) message key and arguments.
export const spoken = (error) => (error.key ? { key: error.key, args: error.args || {} }
                                            : { key: "status.page_failed", args: { reason: error.message } });

// The ledger's words in the page's language (the server sends every language).
export const said = (item, key) => item.words[page.lang][key];

// A language's own name, as its menu lists it.
export const languageName = (code) => page.tables[code]["language.name"];
