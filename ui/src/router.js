// Hash routes, MLflow's link formats included:
//   #/                                   experiments
//   #/experiments/<id>?filter=&order=... an experiment's runs (state in the query: shareable)
//   #/experiments/<id>/runs/<run_id>     a run
//   #/compare-runs?runs=[...]            runs side by side (MLflow's JSON list, or a,b,c)
import { useEffect, useState } from "preact/hooks";

export function parseHash(hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, search = ""] = text.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(search));
  if (parts[0] === "experiments" && parts[1]) {
    if (parts[2] === "runs" && parts[3]) {
      return { page: "run", experimentId: parts[1], runId: parts[3], query };
    }
    return { page: "experiment", experimentId: parts[1], query };
  }
  if (parts[0] === "compare-runs") return { page: "compare", query };
  return { page: "experiments", query };
}

export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function href(path, query = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const tail = search.toString();
  return `#${path}${tail ? "?" + tail : ""}`;
}

// Updates the current page's query in place (no history entry, no navigation).
export function replaceQuery(path, query) {
  const target = href(path, query);
  if (location.hash !== target) history.replaceState(null, "", target);
}

// Run ids of a compare link: MLflow's `runs=["a","b"]` or a plain `a,b`.
export function compareRunIds(value = "") {
  if (value.startsWith("[")) {
    try {
      return JSON.parse(value).map(String);
    } catch {
      return [];
    }
  }
  return value.split(",").filter(Boolean);
}
