// Runs side by side: attributes, params and metrics, rows whose values differ highlighted,
// then the runs' metric charts together.
import { useEffect, useState } from "preact/hooks";
import { getRun } from "../api.js";
import { ChartsPanel, PALETTE } from "../charts.js";
import { flattenRun, formatDuration, formatTime, formatValue, runName } from "../format.js";
import { html } from "../html.js";
import { compareRunIds, href } from "../router.js";

function rowsOf(runs, field, format) {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run[field])))].sort();
  return keys.map((key) => [key, runs.map((run) => (key in run[field] ? format(run[field][key]) : ""))]);
}

function Section({ title, rows, onlyDiff }) {
  const shown = rows.filter(([, values]) => !onlyDiff || new Set(values).size > 1);
  return html`<tbody>
    <tr class="section"><th colspan="99">${title} (${shown.length})</th></tr>
    ${shown.map(([key, values]) => {
      const differs = new Set(values).size > 1;
      return html`<tr key=${key} class=${differs ? "differs" : ""}>
        <th scope="row">${key}</th>
        ${values.map((v) => html`<td class="mono">${v}</td>`)}
      </tr>`;
    })}
  </tbody>`;
}

export function ComparePage({ route }) {
  const ids = compareRunIds(route.query.runs);
  const [runs, setRuns] = useState(null);
  const [error, setError] = useState("");
  const [onlyDiff, setOnlyDiff] = useState(false);
  useEffect(() => {
    Promise.all(ids.map((id) => getRun(id).then((b) => flattenRun(b.run))))
      .then(setRuns)
      .catch((e) => setError(e.message));
  }, [route.query.runs]);
  if (error) return html`<section class="page"><p class="error" role="alert">${error}</p></section>`;
  if (!runs) return html`<section class="page"><p class="muted">Loading…</p></section>`;
  const attributes = [
    ["Start time", runs.map((r) => formatTime(r.info.start_time))],
    ["Duration", runs.map((r) => formatDuration(r.info.start_time, r.info.end_time))],
    ["Status", runs.map((r) => r.info.status)],
    ["User", runs.map((r) => r.info.user_id || "")],
  ];
  const tags = rowsOf(runs, "tags", String).filter(([k]) => !k.startsWith("mlflow."));
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const charted = runs.map((r, i) => ({
    id: r.info.run_id,
    name: runName(r),
    color: PALETTE[i % PALETTE.length],
    startTime: r.info.start_time,
    running: r.info.status === "RUNNING",
  }));
  return html`<section class="page">
    <div class="toolbar">
      <a href="#/" class="muted">Experiments</a><span class="muted">/</span>
      <h1>Comparing ${runs.length} runs</h1>
      <label class="inline"><input type="checkbox" checked=${onlyDiff}
        onChange=${(e) => setOnlyDiff(e.target.checked)} /> Only differences</label>
    </div>
    <div class="table-scroll">
      <table class="grid compare">
        <thead><tr><th>Run</th>${runs.map(
          (r, i) => html`<th><span class="swatch" style=${{ background: PALETTE[i % PALETTE.length] }}></span>
            <a href=${href(`/experiments/${r.info.experiment_id}/runs/${r.info.run_id}`)}>${runName(r)}</a></th>`,
        )}</tr></thead>
        <${Section} title="Attributes" rows=${attributes} onlyDiff=${onlyDiff} />
        <${Section} title="Parameters" rows=${rowsOf(runs, "params", String)} onlyDiff=${onlyDiff} />
        <${Section} title="Metrics" rows=${rowsOf(runs, "metrics", formatValue)} onlyDiff=${onlyDiff} />
        <${Section} title="Tags" rows=${tags} onlyDiff=${onlyDiff} />
      </table>
    </div>
    <h2>Metric charts</h2>
    <${ChartsPanel} runs=${charted} metricKeys=${metricKeys} refreshKey=${0} />
  </section>`;
}
