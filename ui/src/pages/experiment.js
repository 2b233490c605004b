// An experiment: the runs table (keyset paging from the server, sort, filter, columns, nested
// runs, selection), then charts and a scatter plot of the selected runs. The filter, sort,
// columns and selection live in the URL, so the page can be shared.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, auth, getExperiment, getRun, post, searchRuns } from "../api.js";
import { ChartsPanel, PALETTE } from "../charts.js";
import { buildColumns, orderBy } from "../columns.js";
import { flattenRun, runName } from "../format.js";
import { html } from "../html.js";
import { href, replaceQuery } from "../router.js";
import { RunsTable } from "../runs_table.js";
import { ScatterPanel } from "../scatter.js";

const FIRST_PAGE = 200;
const PAGE = 1000;
const MAX_CHARTED = 50;
const DEFAULT_CHARTED = 10;
const LIVE_REFRESH_MS = 5000;
const PARENT_TAG = "mlflow.parentRunId";

function parseSort(value) {
  if (!value) return { id: "created", asc: false };
  const asc = value.endsWith(":asc");
  return { id: value.replace(/:(asc|desc)$/, ""), asc };
}

function FilterError({ filter, error }) {
  const match = /at position (\d+)/.exec(error);
  const position = match ? Number(match[1]) : null;
  return html`<div class="filter-error" role="alert">
    ${position !== null
      ? html`<pre aria-hidden="true">${`${filter}\n${" ".repeat(position)}^`}</pre>`
      : null}
    <p class="error">${error}</p>
  </div>`;
}

function ColumnChooser({ keys, chosen, onChange, onClose }) {
  const [filter, setFilter] = useState("");
  const all = [
    ...keys.metrics.map((k) => "m:" + k),
    ...keys.params.map((k) => "p:" + k),
    ...keys.tags.map((k) => "t:" + k),
  ];
  const matching = all.filter((id) => id.toLowerCase().includes(filter.toLowerCase()));
  const set = new Set(chosen);
  const toggle = (id) =>
    onChange(set.has(id) ? chosen.filter((c) => c !== id) : [...chosen, id]);
  const names = { m: "metric", p: "param", t: "tag" };
  return html`<div class="card chooser" role="dialog" aria-label="Columns"
      onKeyDown=${(e) => e.key === "Escape" && onClose()}>
    <div class="toolbar">
      <input type="search" autofocus placeholder="Filter keys" aria-label="Filter keys"
        value=${filter} onInput=${(e) => setFilter(e.target.value)} />
      <button onClick=${() => onChange([...new Set([...chosen, ...matching])])}>Show all</button>
      <button onClick=${() => onChange(chosen.filter((id) => !matching.includes(id)))}>Hide all</button>
      <button onClick=${onClose}>Done</button>
    </div>
    <ul class="chooser-list">
      ${matching.slice(0, 300).map(
        (id) => html`<li key=${id}><label class="inline">
          <input type="checkbox" checked=${set.has(id)} onChange=${() => toggle(id)} />
          <span class=${"kind " + names[id[0]]}>${id[0]}</span> ${id.slice(2)}
        </label></li>`,
      )}
    </ul>
    ${matching.length > 300 ? html`<p class="muted">${matching.length - 300} more: filter to find them.</p>` : null}
  </div>`;
}

export function ExperimentPage({ route }) {
  const experimentId = route.experimentId;
  const query = route.query;
  const [experiment, setExperiment] = useState(null);
  const [filterText, setFilterText] = useState(query.filter || "");
  const [filter, setFilter] = useState(query.filter || "");
  const [filterError, setFilterError] = useState("");
  const [sort, setSort] = useState(parseSort(query.sort));
  const [deleted, setDeleted] = useState(query.view === "deleted");
  const [chosen, setChosen] = useState(query.cols ? query.cols.split(",").filter(Boolean) : null);
  const [selected, setSelected] = useState(new Set(query.sel ? query.sel.split(",") : []));
  const [hidden, setHidden] = useState(new Set());
  const [collapsed, setCollapsed] = useState(new Set());
  const [runs, setRuns] = useState([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState("");
  const [tab, setTab] = useState(query.tab === "scatter" ? "scatter" : "charts");
  const [choosing, setChoosing] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);
  const [reload, setReload] = useState(0);
  const paging = useRef({ token: null, loading: false, epoch: 0 });
  const keys = useRef({ metrics: new Set(), params: new Set(), tags: new Set() });

  useEffect(() => {
    getExperiment(experimentId)
      .then((body) => setExperiment(body.experiment))
      .catch((e) => setError(e.message));
  }, [experimentId]);

  const loadMore = async () => {
    const state = paging.current;
    if (state.loading || (state.token === null && state.started)) return;
    state.loading = true;
    state.started = true;
    const epoch = state.epoch;
    try {
      const body = await searchRuns({
        experiment_ids: [experimentId],
        filter,
        order_by: orderBy(sort),
        max_results: state.token ? PAGE : FIRST_PAGE,
        page_token: state.token || undefined,
        run_view_type: deleted ? "DELETED_ONLY" : "ACTIVE_ONLY",
      });
      if (epoch !== state.epoch) return;
      const page = (body.runs || []).map(flattenRun);
      for (const run of page) {
        for (const k of Object.keys(run.metrics)) keys.current.metrics.add(k);
        for (const k of Object.keys(run.params)) keys.current.params.add(k);
        for (const k of Object.keys(run.tags)) if (!k.startsWith("mlflow.")) keys.current.tags.add(k);
      }
      state.token = body.next_page_token || null;
      setDone(!state.token);
      setRuns((previous) => [...previous, ...page]);
      setFilterError("");
      setError("");
    } catch (e) {
      if (epoch !== state.epoch) return;
      state.token = null;
      setDone(true);
      if (e instanceof ApiError && e.status === 400) setFilterError(e.message);
      else setError(e.message);
    } finally {
      if (epoch === state.epoch) state.loading = false;
    }
  };

  // A new search: from the first page again.
  useEffect(() => {
    paging.current = { token: null, loading: false, started: false, epoch: paging.current.epoch + 1 };
    setRuns([]);
    setDone(false);
    loadMore();
  }, [filter, sort.id, sort.asc, deleted, reload]);

  useEffect(() => {
    const sel = [...selected].slice(0, MAX_CHARTED).join(",");
    replaceQuery(`/experiments/${experimentId}`, {
      filter,
      sort: sort.id === "created" && !sort.asc ? "" : `${sort.id}:${sort.asc ? "asc" : "desc"}`,
      view: deleted ? "deleted" : "",
      cols: chosen ? chosen.join(",") : "",
      sel,
      tab: tab === "charts" ? "" : tab,
    });
  }, [filter, sort, deleted, chosen, selected, tab]);

  // Live refresh: running runs in the table are read again every few seconds.
  useEffect(() => {
    const timer = setInterval(async () => {
      if (document.hidden) return;
      const running = runs.filter((r) => r.info.status === "RUNNING").slice(0, 20);
      if (!running.length) return;
      const fresh = await Promise.all(
        running.map((r) => getRun(r.info.run_id).then((b) => flattenRun(b.run), () => r)),
      );
      const byId = new Map(fresh.map((r) => [r.info.run_id, r]));
      setRuns((previous) => previous.map((r) => byId.get(r.info.run_id) || r));
      setRefreshKey((n) => n + 1);
    }, LIVE_REFRESH_MS);
    return () => clearInterval(timer);
  }, [runs]);

  const metricKeys = [...keys.current.metrics].sort();
  const paramKeys = [...keys.current.params].sort();
  const tagKeys = [...keys.current.tags].sort();
  const chosenIds = chosen || [...metricKeys.map((k) => "m:" + k), ...paramKeys.map((k) => "p:" + k)];
  const columns = useMemo(() => buildColumns(chosenIds), [chosenIds.join("\n")]);

  // Nested runs under their parent (when the parent is loaded).
  const items = useMemo(() => {
    const byId = new Set(runs.map((r) => r.info.run_id));
    const children = new Map();
    const roots = [];
    for (const run of runs) {
      const parent = run.tags[PARENT_TAG];
      if (parent && byId.has(parent)) {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent).push(run);
      } else roots.push(run);
    }
    const list = [];
    const visit = (run, depth) => {
      const id = run.info.run_id;
      const kids = children.get(id) || [];
      const expanded = !collapsed.has(id);
      list.push({ run, depth, hasChildren: kids.length > 0, expanded, name: runName(run) });
      if (expanded) for (const kid of kids) visit(kid, depth + 1);
    };
    for (const run of roots) visit(run, 0);
    return list;
  }, [runs, collapsed]);

  const charted = useMemo(() => {
    const visible = items.filter((item) => !hidden.has(item.run.info.run_id));
    const picked = selected.size
      ? visible.filter((item) => selected.has(item.run.info.run_id)).slice(0, MAX_CHARTED)
      : visible.filter((item) => item.depth === 0).slice(0, DEFAULT_CHARTED);
    return picked.map((item, i) => ({
      id: item.run.info.run_id,
      name: item.name,
      color: PALETTE[i % PALETTE.length],
      startTime: item.run.info.start_time,
      running: item.run.info.status === "RUNNING",
    }));
  }, [items, selected, hidden]);
  const colors = new Map(charted.map((r) => [r.id, r.color]));
  const colorOf = (id) => colors.get(id);

  const toggle = (set, setter) => (id) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setter(next);
  };
  const onSort = (id) =>
    setSort((current) => (current.id === id ? { id, asc: !current.asc } : { id, asc: false }));
  const submitFilter = (event) => {
    event.preventDefault();
    setFilter(filterText.trim());
  };
  const changeLifecycle = async (path) => {
    try {
      await Promise.all([...selected].map((id) => post(path, { run_id: id })));
      setSelected(new Set());
      setReload((n) => n + 1);
    } catch (e) {
      setError(e.message);
    }
  };
  const lifecycleDenied = auth.denied(deleted ? "RestoreRun" : "DeleteRun", experimentId);
  const compareIds = [...selected].slice(0, 20);
  const chartedRuns = runs.filter((r) => !hidden.has(r.info.run_id));

  return html`<section class="page">
    <div class="toolbar">
      <a href="#/" class="muted">Experiments</a><span class="muted">/</span>
      <h1>${experiment ? experiment.name : "Experiment " + experimentId}</h1>
      <span class="muted">ID ${experimentId}</span>
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <form class="toolbar filter" onSubmit=${submitFilter}>
      <input class="grow mono" aria-label="Filter runs" name="filter"
        placeholder="metrics.loss < 0.5 and params.lr = '0.01'"
        value=${filterText} onInput=${(e) => setFilterText(e.target.value)} />
      <button type="submit" class="primary">Search</button>
      ${filter ? html`<button type="button" onClick=${() => (setFilterText(""), setFilter(""))}>Clear</button>` : null}
    </form>
    ${filterError ? html`<${FilterError} filter=${filter} error=${filterError} />` : null}
    <div class="toolbar">
      <button onClick=${() => setChoosing(!choosing)} aria-expanded=${choosing}>Columns (${chosenIds.length})</button>
      <a class=${"button" + (compareIds.length < 2 ? " disabled" : "")} aria-disabled=${compareIds.length < 2}
        href=${compareIds.length >= 2 ? href("/compare-runs", { runs: JSON.stringify(compareIds), experiments: JSON.stringify([experimentId]) }) : undefined}>
        Compare (${selected.size})</a>
      ${deleted
        ? html`<button disabled=${!selected.size || !!lifecycleDenied} title=${lifecycleDenied || null}
            onClick=${() => changeLifecycle("mlflow/runs/restore")}>Restore</button>`
        : html`<button disabled=${!selected.size || !!lifecycleDenied} title=${lifecycleDenied || null}
            onClick=${() => changeLifecycle("mlflow/runs/delete")}>Delete</button>`}
      <label class="inline"><input type="checkbox" checked=${deleted}
        onChange=${(e) => setDeleted(e.target.checked)} /> Deleted runs</label>
      <span class="spacer"></span>
      <span class="muted" aria-live="polite">${runs.length.toLocaleString()} runs${done ? "" : " loaded, more on scroll"}</span>
    </div>
    ${choosing
      ? html`<${ColumnChooser} keys=${{ metrics: metricKeys, params: paramKeys, tags: tagKeys }}
          chosen=${chosenIds} onChange=${setChosen} onClose=${() => setChoosing(false)} />`
      : null}
    <${RunsTable}
      experimentId=${experimentId}
      items=${items}
      columns=${columns}
      sort=${sort}
      onSort=${onSort}
      selected=${selected}
      onSelect=${toggle(selected, setSelected)}
      onSelectAll=${(all) => setSelected(all ? new Set(items.map((i) => i.run.info.run_id)) : new Set())}
      hidden=${hidden}
      onHide=${toggle(hidden, setHidden)}
      onExpand=${toggle(collapsed, setCollapsed)}
      colorOf=${colorOf}
      onNearEnd=${() => !done && setTimeout(loadMore, 0)}
      footer=${runs.length === 0 && done && !filterError ? html`<p class="muted empty">No runs.</p>` : null}
    />
    <div class="tabs" role="tablist">
      <button role="tab" aria-selected=${tab === "charts"} onClick=${() => setTab("charts")}>Charts</button>
      <button role="tab" aria-selected=${tab === "scatter"} onClick=${() => setTab("scatter")}>Scatter</button>
    </div>
    ${tab === "charts"
      ? html`<${ChartsPanel} runs=${charted} metricKeys=${metricKeys} refreshKey=${refreshKey} />`
      : html`<${ScatterPanel} runs=${chartedRuns} paramKeys=${paramKeys} metricKeys=${metricKeys}
          colorOf=${(id) => colorOf(id) || "#7a8699"} />`}
  </section>`;
}
