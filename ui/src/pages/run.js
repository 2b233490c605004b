// A run: its status, times, user and source, params, latest metrics with charts, editable tags
// and description (mlflow.note.content), datasets, and its artifacts.
import { useEffect, useState } from "preact/hooks";
import { auth, getRun, post } from "../api.js";
import { ArtifactBrowser } from "../artifacts.js";
import { ChartsPanel, PALETTE } from "../charts.js";
import { flattenRun, formatDuration, formatTime, formatValue, runName } from "../format.js";
import { html } from "../html.js";
import { href } from "../router.js";

const NOTE = "mlflow.note.content";
const SOURCE_TAGS = [
  ["Source", "mlflow.source.name"],
  ["Source type", "mlflow.source.type"],
  ["Git commit", "mlflow.source.git.commit"],
  ["Git branch", "mlflow.source.git.branch"],
  ["Git repository", "mlflow.source.git.repoURL"],
  ["Parent run", "mlflow.parentRunId"],
];

function KeyValues({ entries, label }) {
  if (!entries.length) return html`<p class="muted">No ${label}.</p>`;
  return html`<table class="grid kv" aria-label=${label}>
    <tbody>${entries.map(([k, v]) => html`<tr key=${k}><th scope="row">${k}</th><td class="mono">${v}</td></tr>`)}</tbody>
  </table>`;
}

// `denied`: why the caller may not change the run's tags ("" when it may).
function Description({ runId, note, denied, onSaved }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(note || "");
  const save = async (event) => {
    event.preventDefault();
    await post("mlflow/runs/set-tag", { run_id: runId, key: NOTE, value: text });
    setEditing(false);
    onSaved();
  };
  if (editing) {
    return html`<form onSubmit=${save} class="stack">
      <textarea aria-label="Description" rows="5" value=${text} autofocus
        onInput=${(e) => setText(e.target.value)}></textarea>
      <div class="toolbar"><button type="submit" class="primary">Save</button>
        <button type="button" onClick=${() => setEditing(false)}>Cancel</button></div>
    </form>`;
  }
  return html`<div class="description">
    ${note ? html`<p class="note">${note}</p>` : html`<p class="muted">No description.</p>`}
    <button disabled=${!!denied} title=${denied || null}
      onClick=${() => (setText(note || ""), setEditing(true))}>Edit description</button>
  </div>`;
}

function Tags({ runId, tags, denied, onSaved }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState("");
  const readOnly = denied.set || null;
  const act = async (path, body) => {
    try {
      await post(path, body);
      setError("");
      onSaved();
    } catch (e) {
      setError(e.message);
    }
  };
  const add = (event) => {
    event.preventDefault();
    if (key.trim()) act("mlflow/runs/set-tag", { run_id: runId, key: key.trim(), value });
    setKey("");
    setValue("");
  };
  const entries = Object.entries(tags).filter(([k]) => !k.startsWith("mlflow."));
  return html`<div>
    <table class="grid kv" aria-label="tags"><tbody>
      ${entries.map(([k, v]) => html`<tr key=${k}><th scope="row">${k}</th><td class="mono">${v}</td>
        <td class="actions"><button disabled=${!!denied.delete} title=${denied.delete || null} aria-label=${"Delete tag " + k}
          onClick=${() => act("mlflow/runs/delete-tag", { run_id: runId, key: k })}>Delete</button></td></tr>`)}
    </tbody></table>
    <form class="toolbar" onSubmit=${add}>
      <input placeholder="Tag key" aria-label="Tag key" value=${key} disabled=${!!readOnly}
        title=${readOnly} onInput=${(e) => setKey(e.target.value)} />
      <input placeholder="Value" aria-label="Tag value" value=${value} disabled=${!!readOnly}
        title=${readOnly} onInput=${(e) => setValue(e.target.value)} />
      <button type="submit" disabled=${!!readOnly} title=${readOnly}>Set tag</button>
    </form>
    ${error ? html`<p class="error">${error}</p>` : null}
  </div>`;
}

function Datasets({ inputs }) {
  const list = inputs.dataset_inputs || [];
  if (!list.length) return html`<p class="muted">No datasets.</p>`;
  return html`<table class="grid"><thead><tr><th>Name</th><th>Digest</th><th>Source type</th><th>Source</th><th>Context</th></tr></thead>
    <tbody>${list.map((input) => {
      const d = input.dataset || {};
      const context = (input.tags || []).map((t) => `${t.key}=${t.value}`).join(", ");
      return html`<tr><td>${d.name}</td><td class="mono">${d.digest}</td><td>${d.source_type}</td><td class="mono">${d.source}</td><td>${context}</td></tr>`;
    })}</tbody></table>`;
}

export function RunPage({ route }) {
  const [run, setRun] = useState(null);
  const [error, setError] = useState("");
  const [version, setVersion] = useState(0);
  useEffect(() => {
    getRun(route.runId)
      .then((body) => setRun(flattenRun(body.run)))
      .catch((e) => setError(e.message));
  }, [route.runId, version]);
  if (error) return html`<section class="page"><p class="error" role="alert">${error}</p></section>`;
  if (!run) return html`<section class="page"><p class="muted">Loading…</p></section>`;
  const info = run.info;
  const experimentId = info.experiment_id || route.experimentId;
  const reload = () => setVersion((n) => n + 1);
  const tagsDenied = {
    set: auth.denied("SetTag", experimentId),
    delete: auth.denied("DeleteTag", experimentId),
  };
  const source = SOURCE_TAGS.filter(([, key]) => run.tags[key]).map(([label, key]) => [
    label,
    key === "mlflow.parentRunId"
      ? html`<a href=${href(`/experiments/${experimentId}/runs/${run.tags[key]}`)}>${run.tags[key]}</a>`
      : run.tags[key],
  ]);
  const metrics = Object.entries(run.metrics).sort(([a], [b]) => a.localeCompare(b));
  const charted = [{
    id: info.run_id,
    name: runName(run),
    color: PALETTE[0],
    startTime: info.start_time,
    running: info.status === "RUNNING",
  }];
  return html`<section class="page run-page">
    <div class="toolbar">
      <a href="#/" class="muted">Experiments</a><span class="muted">/</span>
      <a href=${href(`/experiments/${experimentId}`)} class="muted">Experiment ${experimentId}</a>
      <span class="muted">/</span>
      <h1>${runName(run)}</h1>
      <span class=${"status " + (info.status || "").toLowerCase()}>${info.status}</span>
      ${info.lifecycle_stage === "deleted" ? html`<span class="status failed">deleted</span>` : null}
    </div>
    <div class="columns">
      <section class="card">
        <h2>Overview</h2>
        <${KeyValues} label="overview" entries=${[
          ["Run ID", info.run_id],
          ["Started", formatTime(info.start_time)],
          ["Ended", formatTime(info.end_time)],
          ["Duration", formatDuration(info.start_time, info.end_time)],
          ["User", info.user_id || run.tags["mlflow.user"] || ""],
          ["Artifact URI", info.artifact_uri],
          ...source,
        ]} />
      </section>
      <section class="card">
        <h2>Description</h2>
        <${Description} runId=${info.run_id} note=${run.tags[NOTE]} denied=${tagsDenied.set} onSaved=${reload} />
        <h2>Tags</h2>
        <${Tags} runId=${info.run_id} tags=${run.tags} denied=${tagsDenied} onSaved=${reload} />
      </section>
    </div>
    <div class="columns">
      <section class="card">
        <h2>Parameters (${Object.keys(run.params).length})</h2>
        <${KeyValues} label="parameters" entries=${Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b))} />
      </section>
      <section class="card">
        <h2>Metrics (${metrics.length})</h2>
        <${KeyValues} label="metrics" entries=${metrics.map(([k, v]) => [k, formatValue(v)])} />
      </section>
    </div>
    <section class="card">
      <h2>Datasets</h2>
      <${Datasets} inputs=${run.inputs} />
    </section>
    <section class="card">
      <h2>Artifacts</h2>
      <${ArtifactBrowser} runId=${info.run_id} />
    </section>
    <h2>Metric charts</h2>
    <${ChartsPanel} runs=${charted} metricKeys=${metrics.map(([k]) => k)} refreshKey=${version} />
  </section>`;
}
