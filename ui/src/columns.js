// The runs table's columns: run attributes, then the chosen metrics, params and tags.
import { formatDuration, formatTime, formatValue } from "./format.js";

const ATTRIBUTES = [
  {
    id: "created",
    label: "Created",
    sortKey: "attributes.start_time",
    width: 170,
    get: (run) => formatTime(run.info.start_time),
  },
  {
    id: "duration",
    label: "Duration",
    width: 104,
    get: (run) => formatDuration(run.info.start_time, run.info.end_time),
  },
  {
    id: "status",
    label: "Status",
    sortKey: "attributes.status",
    width: 96,
    get: (run) => run.info.status,
  },
  {
    id: "user",
    label: "User",
    sortKey: "attributes.user_id",
    width: 110,
    get: (run) => run.info.user_id || run.tags["mlflow.user"] || "",
  },
];

const KINDS = {
  m: { kind: "metric", label: "m", prefix: "metrics", field: "metrics", numeric: true },
  p: { kind: "param", label: "p", prefix: "params", field: "params" },
  t: { kind: "tag", label: "t", prefix: "tags", field: "tags" },
};

export function keyColumn(id) {
  const kind = KINDS[id[0]];
  const key = id.slice(2);
  const format = kind.numeric ? formatValue : (v) => (v === undefined ? "" : v);
  return {
    id,
    label: key,
    title: `${kind.prefix}.${key}`,
    kind: kind.kind,
    kindLabel: kind.label,
    numeric: kind.numeric,
    width: kind.kind === "tag" ? 140 : 110,
    sortKey: `${kind.prefix}.\`${key}\``,
    get: (run) => format(run[kind.field][key]),
  };
}

export function buildColumns(chosenIds) {
  return [...ATTRIBUTES, ...chosenIds.map(keyColumn)];
}

// The server's order_by clause for a sort state {id, asc}.
export function orderBy(sort) {
  const sortKey =
    sort.id === "name"
      ? "attributes.run_name"
      : (ATTRIBUTES.find((c) => c.id === sort.id) || (/^[mpt]:/.test(sort.id) && keyColumn(sort.id)) || {})
          .sortKey;
  return sortKey ? [`${sortKey} ${sort.asc ? "ASC" : "DESC"}`] : [];
}
