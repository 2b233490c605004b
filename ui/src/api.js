// The server's HTTP API as the UI uses it: MLflow's REST API under /ajax-api/2.0/mlflow and
// trackwire's own reads under /ajax-api/2.0/trackwire, with the bearer token when one is set.

const TOKEN_KEY = "trackwire.token";
// Experiment permissions, weakest first (MLflow's names, as the server sends them).
const RANK = { NO_PERMISSIONS: 0, READ: 1, EDIT: 2, MANAGE: 3 };
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const auth = {
  token: sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || "",
  // Set when the server answered 401: the app shows the token prompt.
  needed: false,
  // The caller's user, scope and permissions (from /ui/session), null until known.
  session: null,
  setToken(token, remember) {
    this.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    if (remember) localStorage.setItem(TOKEN_KEY, token);
    this.needed = false;
    notify();
  },
  forget() {
    this.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
    this.needed = true;
    notify();
  },
  // Why the caller may not make the call `rpc` (an RPC name) on experiment `experimentId`
  // (none for calls outside experiments), or "" when it may; always "" without --auth. The
  // server says what each RPC needs, from the RPC's policy in the schema.
  denied(rpc, experimentId) {
    const session = this.session;
    if (!session || !session.auth) return "";
    const needs = session.needs[rpc];
    if (needs.write && session.scope === "read") return "Your token has the read scope";
    if (experimentId === undefined || experimentId === null) return "";
    const granted = session.grants[experimentId] || session.default_permission;
    return RANK[granted] >= RANK[needs.permission]
      ? ""
      : `You have ${granted} permission on this experiment; this needs ${needs.permission}`;
  },
  subscribe(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

function notify() {
  for (const listener of listeners) listener();
}

function headers(extra) {
  const all = { ...extra };
  if (auth.token) all.Authorization = `Bearer ${auth.token}`;
  return all;
}

async function fail(response) {
  let code = "HTTP_" + response.status;
  let message = response.statusText;
  try {
    const body = await response.json();
    code = body.error_code || code;
    message = body.message || message;
  } catch {
    // not a JSON error body: keep the status line
  }
  if (response.status === 401) {
    auth.needed = true;
    notify();
  }
  throw new ApiError(response.status, code, message);
}

async function request(path, init) {
  const response = await fetch(path, init);
  if (!response.ok) await fail(response);
  return response;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  return search.toString();
}

export async function get(path, params = {}) {
  const response = await request(`/ajax-api/2.0/${path}?${query(params)}`, {
    headers: headers(),
  });
  return response.json();
}

export async function post(path, body) {
  const response = await request(`/ajax-api/2.0/${path}`, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  return response.json();
}

// A run's artifact file as a Blob (streamed by the server's artifact service).
export async function artifactBlob(runId, path) {
  const response = await request(
    `/ajax-api/2.0/trackwire/artifacts/download?${query({ run_id: runId, path })}`,
    { headers: headers() },
  );
  return response.blob();
}

// Who the token belongs to and what it may do, or {auth: false} when the server runs without
// --auth. Loaded again after a change of permissions (creating an experiment grants MANAGE).
export async function loadSession() {
  const response = await request("/ui/session", { headers: headers() });
  auth.session = await response.json();
  notify();
  return auth.session;
}

export const searchRuns = (body) => post("mlflow/runs/search", body);
export const getRun = (runId) => get("mlflow/runs/get", { run_id: runId });
export const getExperiment = (id) => get("mlflow/experiments/get", { experiment_id: id });

// Per-bucket summaries of a metric (first/last step, last value, min, max), sized to a chart.
export const metricBuckets = (runIds, key, buckets, startStep, endStep) =>
  get("trackwire/metrics/get-buckets", {
    run_ids: runIds,
    metric_key: key,
    buckets,
    start_step: startStep,
    end_step: endStep,
  });
