// A scatter plot of the loaded runs: a param or metric against a metric, on one canvas.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { formatValue } from "./format.js";

function valueOf(run, choice) {
  if (!choice) return undefined;
  const [kind, key] = [choice.slice(0, 1), choice.slice(2)];
  return kind === "m" ? run.metrics[key] : run.params[key];
}

function draw(canvas, points, xLabels) {
  const ratio = devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  const style = getComputedStyle(document.documentElement);
  const fg = style.getPropertyValue("--muted").trim() || "#666";
  const pad = { left: 64, right: 16, top: 12, bottom: 36 };
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad.left + ((x - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const sy = (y) => height - pad.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - pad.top - pad.bottom);
  g.strokeStyle = fg;
  g.fillStyle = fg;
  g.font = "12px system-ui, sans-serif";
  g.beginPath();
  g.moveTo(pad.left, pad.top);
  g.lineTo(pad.left, height - pad.bottom);
  g.lineTo(width - pad.right, height - pad.bottom);
  g.stroke();
  const xText = (x) => (xLabels ? xLabels[x] : formatValue(x));
  g.fillText(xText(x0), pad.left, height - pad.bottom + 16);
  const right = xText(x1);
  g.fillText(right, width - pad.right - g.measureText(right).width, height - pad.bottom + 16);
  g.fillText(formatValue(y1), 4, pad.top + 10);
  g.fillText(formatValue(y0), 4, height - pad.bottom);
  for (const p of points) {
    g.fillStyle = p.color;
    g.beginPath();
    g.arc(sx(p.x), sy(p.y), 3.5, 0, 2 * Math.PI);
    g.fill();
  }
}

export function ScatterPanel({ runs, paramKeys, metricKeys, colorOf }) {
  const canvasRef = useRef(null);
  const choices = [
    ...paramKeys.map((k) => ["p:" + k, "param " + k]),
    ...metricKeys.map((k) => ["m:" + k, "metric " + k]),
  ];
  const [x, setX] = useState(choices[0] ? choices[0][0] : "");
  const [y, setY] = useState(metricKeys[0] ? "m:" + metricKeys[0] : "");
  const xValues = runs.map((run) => valueOf(run, x));
  const categorical = xValues.some((v) => v !== undefined && Number.isNaN(Number(v)));
  const categories = categorical ? [...new Set(xValues.filter((v) => v !== undefined))].sort() : null;
  const points = [];
  runs.forEach((run, i) => {
    const xv = xValues[i];
    const yv = Number(valueOf(run, y));
    if (xv === undefined || Number.isNaN(yv)) return;
    points.push({
      x: categorical ? categories.indexOf(xv) : Number(xv),
      y: yv,
      color: colorOf(run.info.run_id) || "#2f6fdd",
    });
  });
  useEffect(() => {
    if (canvasRef.current && points.length) draw(canvasRef.current, points, categories);
  });
  return html`<section class="card scatter" aria-label="Scatter plot">
    <div class="toolbar">
      <label>X <select value=${x} onChange=${(e) => setX(e.target.value)}>
        ${choices.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select></label>
      <label>Y <select value=${y} onChange=${(e) => setY(e.target.value)}>
        ${metricKeys.map((k) => html`<option value=${"m:" + k}>metric ${k}</option>`)}
      </select></label>
      <span class="muted">${points.length} runs</span>
    </div>
    ${points.length
      ? html`<canvas ref=${canvasRef} class="scatter-canvas" role="img"
          aria-label=${`Scatter of ${y.slice(2)} against ${x.slice(2)}`}></canvas>`
      : html`<p class="muted">No runs have both values.</p>`}
  </section>`;
}
