// The learner's own points, sent as a CSV file, and the run taken home (the model file and
// the script the server writes).
import { fetchFile, Refused, api } from "./api.js";
import { page } from "./state.js";

// Send `file` with the settings `config` for a run on it, in one request: refused together,
// so that the run on screen and the points the server keeps for this tab stay the same.
// A file too big for the server's limit is refused here, before it is read.
export async function sendPoints(file, config) {
  const upload = page.options.upload;
  if (file.size > upload.file_bytes)
    throw new Refused({ key: "csv.file_too_big", args: { size: file.size, hi: upload.chars } });
  return api("POST", "/api/upload", { csv: await file.text(), config });
}

// A file the server makes for this tab, saved by the browser as it names it.
export async function download(path, fallback) {
  const { blob, name } = await fetchFile(path, fallback);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
