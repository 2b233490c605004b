// Formatting of run fields for display.

export function formatTime(millis) {
  if (!millis) return "";
  const date = new Date(Number(millis));
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

export function formatDuration(start, end) {
  if (!start) return "";
  const seconds = Math.max(0, ((end ? Number(end) : Date.now()) - Number(start)) / 1000);
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.round((seconds % 3600) / 60)}m`;
}

export function formatValue(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3
      ? value.toPrecision(4)
      : String(Number(value.toFixed(4)));
  }
  return String(value);
}

// A run of runs/search or runs/get, flattened for tables: {info, params, metrics, tags}.
export function flattenRun(run) {
  const data = run.data || {};
  const byKey = (list, pick) => Object.fromEntries((list || []).map((e) => [e.key, pick(e)]));
  return {
    info: run.info,
    params: byKey(data.params, (e) => e.value),
    metrics: byKey(data.metrics, (e) => e.value),
    tags: byKey(data.tags, (e) => e.value),
    inputs: run.inputs || {},
  };
}

export const runName = (run) => run.info.run_name || run.tags["mlflow.runName"] || run.info.run_id;
