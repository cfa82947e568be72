// Every request the page makes to the server. Imports only the state (for the session id).
import { session } from "./state.js";

// A refusal from the server: its message key and arguments, worded in the page's language.
export class Refused extends Error {
  constructor(json, status) {
    super(json.error || String(status));
    this.key = json.key; this.args = json.args || {};
  }
}

// A JSON request for this tab's session: GET with a query, POST with a JSON body.
export async function api(method, path, body, query = {}) {
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

// What the page needs before it can draw: the server's options and every language's words.
export async function fetchStart() {
  const options = await fetch("/api/options").then((r) => r.json());
  const tables = await Promise.all(options.languages.map((code) =>
    fetch(`/static/words.${code}.json`).then((r) => r.json())));
  return { options, tables };
}

// A file the server makes for this session: its bytes and the name it gives it.
export async function fetchFile(path, fallback) {
  const response = await fetch(`${path}?session=${session}`);
  if (!response.ok) throw new Refused(await response.json(), response.status);
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  return { blob: await response.blob(), name: name ? name[1] : fallback };
}

// The tab's session freed when the page goes. A keepalive fetch outlives the page, as a
// beacon would, and can send JSON (a beacon's text/plain is what any other site's form could
// send too, so the server refuses it).
export function closeSession() {
  fetch("/api/close", { method: "POST", keepalive: true, headers: { "Content-Type": "application/json" },
                        body: JSON.stringify({ session }) });
}
