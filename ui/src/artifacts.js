// A run's artifact browser: the file tree (listed a folder at a time) and a preview of the
// chosen file: text, JSON, YAML, CSV/TSV tables, images, and MLflow's log_table JSON.
import { useEffect, useState } from "preact/hooks";
import { artifactBlob, get } from "./api.js";
import { html } from "./html.js";

const PREVIEW_BYTES = 5 * 1024 * 1024;
const TABLE_ROWS = 1000;
const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const TEXT = /\.(txt|log|md|py|r|java|scala|sh|yaml|yml|toml|ini|cfg|conf|xml|html|mlmodel|MLmodel)$|(^|\/)(MLmodel|requirements\.txt|conda\.yaml)$/i;

function extension(path) {
  const name = path.split("/").pop();
  return name.includes(".") ? name.split(".").pop().toLowerCase() : name;
}

// A minimal CSV reader: quoted fields with doubled quotes, the given separator.
export function parseDelimited(text, separator) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length <= TABLE_ROWS; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === separator) row.push(field), (field = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

function Table({ header, rows }) {
  return html`<div class="table-scroll"><table class="grid preview-table">
    <thead><tr>${header.map((h) => html`<th>${String(h)}</th>`)}</tr></thead>
    <tbody>${rows.slice(0, TABLE_ROWS).map(
      (row) => html`<tr>${row.map((v) => html`<td>${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "")}</td>`)}</tr>`,
    )}</tbody>
  </table>${rows.length > TABLE_ROWS ? html`<p class="muted">First ${TABLE_ROWS} rows.</p>` : null}</div>`;
}

async function preview(runId, file) {
  if (file.file_size > PREVIEW_BYTES && !IMAGE.test(file.path)) {
    return { kind: "none", note: "Too large to preview." };
  }
  const blob = await artifactBlob(runId, file.path);
  if (IMAGE.test(file.path)) return { kind: "image", url: URL.createObjectURL(blob) };
  const text = await blob.text();
  const ext = extension(file.path);
  if (ext === "json") {
    try {
      const value = JSON.parse(text);
      // MLflow's log_table: {"columns": [...], "data": [[...], ...]}
      if (value && Array.isArray(value.columns) && Array.isArray(value.data)) {
        return { kind: "table", header: value.columns, rows: value.data, note: "MLflow table" };
      }
      return { kind: "text", text: JSON.stringify(value, null, 2) };
    } catch {
      return { kind: "text", text };
    }
  }
  if (ext === "csv" || ext === "tsv") {
    const rows = parseDelimited(text, ext === "csv" ? "," : "\t");
    return { kind: "table", header: rows[0] || [], rows: rows.slice(1) };
  }
  if (TEXT.test(file.path) || !/[\x00-\x08\x0e-\x1f]/.test(text.slice(0, 4096))) {
    return { kind: "text", text };
  }
  return { kind: "none", note: "Binary file: no preview." };
}

async function download(runId, path) {
  const url = URL.createObjectURL(await artifactBlob(runId, path));
  const link = document.createElement("a");
  link.href = url;
  link.download = path.split("/").pop();
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function Folder({ runId, path, depth, chosen, onChoose }) {
  const [files, setFiles] = useState(null);
  const [open, setOpen] = useState(new Set());
  const [error, setError] = useState("");
  useEffect(() => {
    get("mlflow/artifacts/list", { run_id: runId, path: path || undefined })
      .then((body) => setFiles(body.files || []))
      .catch((e) => setError(e.message));
  }, [runId, path]);
  if (error) return html`<p class="error">${error}</p>`;
  if (files === null) return html`<p class="muted">Loading…</p>`;
  if (!files.length && depth === 0) return html`<p class="muted">No artifacts.</p>`;
  const toggle = (p) => {
    const next = new Set(open);
    next.has(p) ? next.delete(p) : next.add(p);
    setOpen(next);
  };
  return html`<ul class="tree" role=${depth ? "group" : "tree"}>
    ${files.map((file) => {
      const name = file.path.split("/").pop();
      return html`<li key=${file.path} role="treeitem" aria-expanded=${file.is_dir ? open.has(file.path) : undefined}>
        ${file.is_dir
          ? html`<button class="file" onClick=${() => toggle(file.path)}>${open.has(file.path) ? "▾" : "▸"} ${name}/</button>
              ${open.has(file.path) ? html`<${Folder} runId=${runId} path=${file.path} depth=${depth + 1} chosen=${chosen} onChoose=${onChoose} />` : null}`
          : html`<button class=${"file" + (chosen && chosen.path === file.path ? " chosen" : "")}
              aria-current=${chosen && chosen.path === file.path} onClick=${() => onChoose(file)}>${name}</button>`}
      </li>`;
    })}
  </ul>`;
}

export function ArtifactBrowser({ runId }) {
  const [chosen, setChosen] = useState(null);
  const [shown, setShown] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    if (!chosen) return;
    let current = true;
    setShown(null);
    setError("");
    preview(runId, chosen)
      .then((p) => current && setShown(p))
      .catch((e) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [chosen]);
  return html`<div class="artifacts">
    <nav class="artifact-tree" aria-label="Artifacts">
      <${Folder} runId=${runId} path="" depth=${0} chosen=${chosen} onChoose=${setChosen} />
    </nav>
    <div class="artifact-preview" aria-live="polite">
      ${chosen
        ? html`<div class="toolbar">
            <strong class="mono">${chosen.path}</strong>
            ${chosen.file_size !== undefined ? html`<span class="muted">${Number(chosen.file_size).toLocaleString()} bytes</span>` : null}
            <span class="spacer"></span>
            <button onClick=${() => download(runId, chosen.path).catch((e) => setError(e.message))}>Download</button>
          </div>`
        : html`<p class="muted">Choose a file to preview it.</p>`}
      ${error ? html`<p class="error">${error}</p>` : null}
      ${shown && shown.note ? html`<p class="muted">${shown.note}</p>` : null}
      ${shown && shown.kind === "text" ? html`<pre class="preview-text">${shown.text}</pre>` : null}
      ${shown && shown.kind === "image" ? html`<img class="preview-image" src=${shown.url} alt=${chosen.path} />` : null}
      ${shown && shown.kind === "table" ? html`<${Table} header=${shown.header} rows=${shown.rows} />` : null}
    </div>
  </div>`;
}
