// The runs table, virtualised in both directions: whatever the number of runs and of metric,
// param and tag columns, only the cells in view are in the DOM. Keyboard: arrows move, Enter
// opens the run, Space selects it.
import { useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { href } from "./router.js";
import { useVirtualizer } from "./virtual.js";

const ROW_HEIGHT = 30;
const FIXED = [
  { id: "select", width: 34 },
  { id: "show", width: 34 },
  { id: "name", width: 240 },
];
const FIXED_WIDTH = FIXED.reduce((sum, c) => sum + c.width, 0);

function SortMark({ column, sort }) {
  if (!sort || sort.id !== column.id) return null;
  return html`<span class="sort" aria-hidden="true">${sort.asc ? "▲" : "▼"}</span>`;
}

function headerSort(column, sort) {
  if (!sort || sort.id !== column.id) return "none";
  return sort.asc ? "ascending" : "descending";
}

export function RunsTable({
  experimentId,
  items,
  columns,
  sort,
  onSort,
  selected,
  onSelect,
  onSelectAll,
  hidden,
  onHide,
  onExpand,
  colorOf,
  onNearEnd,
  footer,
}) {
  const scrollRef = useRef(null);
  const [active, setActive] = useState(0);
  const rows = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    scrollPaddingStart: ROW_HEIGHT,
  });
  const cols = useVirtualizer({
    horizontal: true,
    count: columns.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => columns[i].width,
    overscan: 3,
  });
  const visibleRows = rows.getVirtualItems();
  const visibleCols = cols.getVirtualItems();
  const last = visibleRows[visibleRows.length - 1];
  if (last && last.index >= items.length - 50) onNearEnd();

  const width = FIXED_WIDTH + cols.getTotalSize();
  const leading = visibleCols.length ? visibleCols[0].start : 0;
  const trailing = visibleCols.length
    ? cols.getTotalSize() - visibleCols[visibleCols.length - 1].end
    : 0;
  const allSelected = items.length > 0 && items.every((item) => selected.has(item.run.info.run_id));

  const open = (item) => {
    location.hash = `#/experiments/${experimentId}/runs/${item.run.info.run_id}`;
  };
  const onKeyDown = (event) => {
    if (event.target.closest("input,button,a") && event.target !== scrollRef.current) return;
    const move = { ArrowDown: 1, ArrowUp: -1, PageDown: 20, PageUp: -20 }[event.key];
    if (move) {
      event.preventDefault();
      const next = Math.max(0, Math.min(items.length - 1, active + move));
      setActive(next);
      rows.scrollToIndex(next);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      const next = event.key === "Home" ? 0 : items.length - 1;
      setActive(next);
      rows.scrollToIndex(next);
    } else if (event.key === "Enter" && items[active]) {
      open(items[active]);
    } else if (event.key === " " && items[active]) {
      event.preventDefault();
      onSelect(items[active].run.info.run_id);
    }
  };

  return html`<div class="runs-scroll" ref=${scrollRef} tabindex="0" role="grid"
      aria-label="Runs" aria-rowcount=${items.length} onKeyDown=${onKeyDown}>
    <div class="runs-inner" style=${{ width: `${width}px`, height: `${rows.getTotalSize() + ROW_HEIGHT}px` }}>
      <div class="runs-row runs-head" role="row" style=${{ width: `${width}px` }}>
        <div class="fixed">
          <div class="cell check" style="width:34px" role="columnheader">
            <input type="checkbox" aria-label="Select all loaded runs" checked=${allSelected}
              onChange=${() => onSelectAll(!allSelected)} />
          </div>
          <div class="cell check" style="width:34px" role="columnheader" title="Shown in charts">
            <span aria-label="Shown in charts">●</span>
          </div>
          <div class="cell name" style="width:240px" role="columnheader" aria-sort=${headerSort({ id: "name" }, sort)}>
            <button class="head" onClick=${() => onSort("name")}>Run name<${SortMark} column=${{ id: "name" }} sort=${sort} /></button>
          </div>
        </div>
        <div style=${{ width: `${leading}px`, flex: "none" }}></div>
        ${visibleCols.map((v) => {
          const column = columns[v.index];
          return html`<div key=${column.id} class="cell" role="columnheader" title=${column.title}
              style=${{ width: `${column.width}px` }} aria-sort=${headerSort(column, sort)}>
            ${column.sortKey
              ? html`<button class="head" onClick=${() => onSort(column.id)}>
                  <span class=${"kind " + column.kind}>${column.kindLabel}</span>${column.label}<${SortMark} column=${column} sort=${sort} />
                </button>`
              : html`<span class="head">${column.label}</span>`}
          </div>`;
        })}
        <div style=${{ width: `${trailing}px`, flex: "none" }}></div>
      </div>
      ${visibleRows.map((v) => {
        const item = items[v.index];
        const run = item.run;
        const id = run.info.run_id;
        const color = colorOf(id);
        return html`<div key=${id} role="row" aria-rowindex=${v.index + 2}
            aria-selected=${selected.has(id)}
            class=${"runs-row" + (v.index === active ? " active" : "") + (selected.has(id) ? " selected" : "")}
            style=${{ transform: `translateY(${v.start + ROW_HEIGHT}px)`, width: `${width}px` }}
            onClick=${() => setActive(v.index)}>
          <div class="fixed">
            <div class="cell check" style="width:34px" role="gridcell">
              <input type="checkbox" aria-label=${"Select " + item.name} checked=${selected.has(id)}
                onChange=${() => onSelect(id)} tabindex="-1" />
            </div>
            <div class="cell check" style="width:34px" role="gridcell">
              <button class=${"eye" + (hidden.has(id) ? " off" : "")} tabindex="-1"
                aria-label=${(hidden.has(id) ? "Show " : "Hide ") + item.name} aria-pressed=${!hidden.has(id)}
                onClick=${() => onHide(id)}>${hidden.has(id) ? "○" : "●"}</button>
            </div>
            <div class="cell name" style="width:240px" role="gridcell">
              <span style=${{ width: `${item.depth * 16}px`, flex: "none" }}></span>
              ${item.hasChildren
                ? html`<button class="twisty" tabindex="-1" aria-expanded=${item.expanded}
                    aria-label=${(item.expanded ? "Collapse " : "Expand ") + item.name}
                    onClick=${() => onExpand(id)}>${item.expanded ? "▾" : "▸"}</button>`
                : html`<span class="twisty"></span>`}
              ${color ? html`<span class="swatch" style=${{ background: color }}></span>` : null}
              <a href=${href(`/experiments/${experimentId}/runs/${id}`)} tabindex="-1" title=${item.name}>${item.name}</a>
            </div>
          </div>
          <div style=${{ width: `${leading}px`, flex: "none" }}></div>
          ${visibleCols.map((c) => {
            const column = columns[c.index];
            const value = column.get(run);
            return html`<div key=${column.id} role="gridcell"
                class=${"cell" + (column.numeric ? " num" : "")} style=${{ width: `${column.width}px` }}
                title=${value}>${column.render ? column.render(run) : value}</div>`;
          })}
        </div>`;
      })}
    </div>
    ${footer}
  </div>`;
}
