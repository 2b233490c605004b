// Metric charts on canvas (uPlot). The server downsamples: each chart asks for about one step
// bucket per pixel of its width and gets each bucket's first and last step, last value,
// minimum and maximum, so a one-point spike among millions still shows. Charts are drawn only
// once scrolled into view; selecting a range zooms and fetches that range in detail.
import uPlot from "uplot";
import { useEffect, useRef, useState } from "preact/hooks";
import { metricBuckets } from "./api.js";
import { html } from "./html.js";

export const PALETTE = [
  "#2f6fdd", "#e0533d", "#2a9d5b", "#9b59b6", "#e69a1b",
  "#17a2b8", "#c2185b", "#6d8b2f", "#795548", "#5c6bc0",
];
const MAX_CHARTS = 200;
const X_LABELS = { step: "Step", wall: "Wall time", relative: "Relative time (s)" };

const number = (v) => (v === null || v === undefined || v === "NaN" ? NaN : Number(v));

function xOf(mode, run) {
  if (mode === "wall") return (step, ts) => Number(ts) / 1000;
  if (mode === "relative") return (step, ts) => (Number(ts) - Number(run.startTime || 0)) / 1000;
  return (step) => Number(step);
}

// One run's buckets as chart points in typed arrays (x, y, step) ordered by x: a bucket of
// several points becomes its minimum and maximum (in the order that ends near its last
// value), so extremes are drawn. Of points with the same x, the last one is kept.
export function bucketPoints(buckets, toX) {
  const xs = [];
  const ys = [];
  const steps = [];
  const add = (x, y, step) => {
    xs.push(x);
    ys.push(y);
    steps.push(Number(step));
  };
  for (const b of buckets) {
    const last = number(b.last_value);
    const low = number(b.min_value);
    const high = number(b.max_value);
    if (Number(b.count) === 1 || b.first_step === b.last_step || low === high) {
      add(toX(b.last_step, b.last_timestamp), last, b.last_step);
    } else {
      const endsHigh = last >= (low + high) / 2;
      add(toX(b.first_step, b.first_timestamp), endsHigh ? low : high, b.first_step);
      add(toX(b.last_step, b.last_timestamp), endsHigh ? high : low, b.last_step);
    }
  }
  // Buckets come in step order; times need not grow with steps (a clock set back).
  const order = Array.from(xs.keys());
  if (xs.some((x, i) => i > 0 && x < xs[i - 1])) order.sort((a, b) => xs[a] - xs[b]);
  const x = new Float64Array(xs.length);
  const y = new Float64Array(xs.length);
  const step = new Float64Array(xs.length);
  let n = 0;
  for (const i of order) {
    if (n && x[n - 1] === xs[i]) n -= 1;
    x[n] = xs[i];
    y[n] = ys[i];
    step[n] = steps[i];
    n += 1;
  }
  return { x: x.subarray(0, n), y: y.subarray(0, n), step: step.subarray(0, n) };
}

// The series of uPlot's data: one x array and a y array per run. Runs whose points share
// their x values (the usual case: the same steps) need no join.
function chartData(perRun, log, smoothing) {
  const tables = perRun.map(({ x, y }) => {
    const ys = new Array(y.length);
    for (let i = 0; i < y.length; i++) {
      ys[i] = Number.isNaN(y[i]) || (log && y[i] <= 0) ? null : y[i];
    }
    return [x, smooth(ys, smoothing)];
  });
  if (!tables.length) return [[]];
  const xs = tables[0][0];
  const shared = tables.every(
    ([x]) => x.length === xs.length && x.every((value, i) => value === xs[i]),
  );
  return shared ? [xs, ...tables.map(([, ys]) => ys)] : uPlot.join(tables);
}

function smooth(values, weight) {
  if (!weight) return values;
  let state = null;
  let debias = 0;
  return values.map((v) => {
    if (v === null || Number.isNaN(v)) return v;
    state = state === null ? 0 : state;
    debias = weight * debias + (1 - weight);
    state = weight * state + (1 - weight) * v;
    return state / debias;
  });
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// Charts take their colours from CSS: draw again when the colour scheme changes.
function useColorScheme() {
  const query = matchMedia("(prefers-color-scheme: dark)");
  const [dark, setDark] = useState(query.matches);
  useEffect(() => {
    const change = (e) => setDark(e.matches);
    query.addEventListener("change", change);
    return () => query.removeEventListener("change", change);
  }, []);
  return dark;
}

function useVisible(ref) {
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const observer = new IntersectionObserver(
      (entries) => entries.some((e) => e.isIntersecting) && setVisible(true),
      { rootMargin: "200px" },
    );
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, []);
  return visible;
}

function ChartCard({ metricKey, runs, options, refreshKey }) {
  const cardRef = useRef(null);
  const plotRef = useRef(null);
  const visible = useVisible(cardRef);
  const dark = useColorScheme();
  const [zoom, setZoom] = useState(null);
  const [result, setResult] = useState(null);
  const [error, setError] = useState("");
  const runIds = runs.map((r) => r.id).join(",");

  // A result is shown when it answers what the chart shows now (runs, metric, zoom); a live
  // refresh never cancels a fetch still on its way, it only skips a turn, and it fetches
  // again only the runs that were running when last fetched (a finished run's history does
  // not move).
  const wanted = `${runIds}|${metricKey}|${zoom?.start}|${zoom?.end}`;
  const latest = useRef({ wanted, inflight: null, shown: null, buckets: new Map() });
  latest.current.wanted = wanted;
  useEffect(() => {
    const state = latest.current;
    if (!visible || !runs.length || state.inflight === wanted) return;
    const known = state.shown === wanted ? state.buckets : new Map();
    const stale = runs.filter((r) => !known.has(r.id) || known.get(r.id).running);
    if (!stale.length) return;
    state.inflight = wanted;
    const width = (plotRef.current && plotRef.current.clientWidth) || 400;
    const buckets = Math.max(50, Math.min(5000, Math.round(width)));
    // One request per run, all at once: the server answers each on its own worker thread,
    // and one run's query costs less than its share of a query for many runs.
    Promise.all(
      stale.map((r) =>
        metricBuckets([r.id], metricKey, buckets, zoom?.start, zoom?.end).then(
          (body) => [
            r.id,
            { running: r.running, buckets: (body.runs && body.runs[0] && body.runs[0].buckets) || [] },
          ],
        ),
      ),
    )
      .then((found) => {
        if (state.wanted !== wanted) return;
        state.shown = wanted;
        state.buckets = new Map([...known, ...found]);
        setResult(state.buckets);
        setError("");
      })
      .catch((e) => state.wanted === wanted && setError(e.message))
      .finally(() => {
        if (state.inflight === wanted) state.inflight = null;
      });
  }, [visible, wanted, refreshKey]);

  useEffect(() => {
    const target = plotRef.current;
    if (!result || !target) return;
    const perRun = runs.map((run) => bucketPoints(result.get(run.id)?.buckets || [], xOf(options.x, run)));
    let ymax = -Infinity;
    for (const { y } of perRun) for (const v of y) if (v > ymax) ymax = v;
    cardRef.current.dataset.ymax = String(ymax);
    cardRef.current.dataset.points = String(perRun.reduce((n, p) => n + p.x.length, 0));
    const log = options.log;
    const data = chartData(perRun, log, options.smoothing);
    const fg = cssVar("--muted") || "#666";
    const grid = cssVar("--grid") || "#ddd";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const selectRange = (u) => {
      if (u.select.width < 4) return;
      const lo = u.posToVal(u.select.left, "x");
      const hi = u.posToVal(u.select.left + u.select.width, "x");
      let start = Infinity;
      let end = -Infinity;
      for (const { x, step } of perRun) {
        for (let i = 0; i < x.length; i++) {
          if (x[i] >= lo && x[i] <= hi) {
            start = Math.min(start, step[i]);
            end = Math.max(end, step[i]);
          }
        }
      }
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      if (start <= end) setZoom({ start, end });
    };
    const plot = new uPlot(
      {
        width: target.clientWidth,
        height: 220,
        scales: { x: { time: options.x === "wall" }, y: { distr: log ? 3 : 1 } },
        series: [
          { label: X_LABELS[options.x] },
          ...runs.map((run) => ({
            label: run.name,
            stroke: run.color,
            width: 1.5,
            spanGaps: true,
            points: { show: false },
          })),
        ],
        axes: [axis, { ...axis, size: 60 }],
        cursor: { drag: { x: true, y: false, setScale: false } },
        legend: { show: runs.length <= 12 },
        hooks: { setSelect: [selectRange] },
      },
      data,
      target,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: target.clientWidth, height: 220 }));
    resize.observe(target);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [result, options.x, options.log, options.smoothing, dark]);

  const total = result
    ? [...result.values()].reduce(
        (n, { buckets }) => n + buckets.reduce((m, b) => m + Number(b.count), 0),
        0,
      )
    : 0;
  return html`<figure class="card chart" ref=${cardRef} data-metric=${metricKey}
      data-ready=${result ? "true" : "false"}>
    <figcaption>
      <strong>${metricKey}</strong>
      ${result ? html`<span class="muted">${total.toLocaleString()} points</span>` : null}
      ${zoom
        ? html`<button class="link" onClick=${() => setZoom(null)}>
            Reset zoom (steps ${zoom.start}–${zoom.end})</button>`
        : null}
    </figcaption>
    ${error ? html`<p class="error">${error}</p>` : null}
    ${result && total === 0 ? html`<p class="muted">No points for these runs.</p>` : null}
    <div class="plot" ref=${plotRef}>${visible ? null : html`<p class="muted">…</p>`}</div>
  </figure>`;
}

// Charts of `metricKeys` for `runs` ({id, name, color, startTime, running}), with their
// controls.
export function ChartsPanel({ runs, metricKeys, refreshKey }) {
  const [x, setX] = useState("step");
  const [log, setLog] = useState(false);
  const [smoothing, setSmoothing] = useState(0);
  const [filter, setFilter] = useState("");
  const keys = metricKeys.filter((k) => k.toLowerCase().includes(filter.toLowerCase()));
  const options = { x, log, smoothing };
  return html`<section class="charts" aria-label="Charts">
    <div class="toolbar">
      <label>X axis
        <select value=${x} onChange=${(e) => setX(e.target.value)}>
          <option value="step">Step</option>
          <option value="wall">Wall time</option>
          <option value="relative">Relative time</option>
        </select>
      </label>
      <label class="inline"><input type="checkbox" checked=${log}
        onChange=${(e) => setLog(e.target.checked)} /> Log scale</label>
      <label>Smoothing
        <input type="range" min="0" max="0.99" step="0.01" value=${smoothing}
          onInput=${(e) => setSmoothing(Number(e.target.value))} />
      </label>
      <input type="search" placeholder="Filter metrics" aria-label="Filter metrics"
        value=${filter} onInput=${(e) => setFilter(e.target.value)} />
      <span class="muted">${runs.length} run${runs.length === 1 ? "" : "s"} charted${
        keys.length > MAX_CHARTS ? ` · first ${MAX_CHARTS} of ${keys.length} metrics` : ""}</span>
    </div>
    ${runs.length === 0 || keys.length === 0
      ? html`<p class="muted">No metrics to chart.</p>`
      : html`<div class="chart-grid">
          ${keys.slice(0, MAX_CHARTS).map(
            (key) => html`<${ChartCard} key=${key} metricKey=${key} runs=${runs}
              options=${options} refreshKey=${refreshKey} />`,
          )}
        </div>`}
  </section>`;
}
