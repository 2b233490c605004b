// The experiments: search by name, create, rename, delete and restore.
import { useEffect, useState } from "preact/hooks";
import { auth, loadSession, post } from "../api.js";
import { formatTime } from "../format.js";
import { html } from "../html.js";
import { href, replaceQuery } from "../router.js";

const VIEWS = { active: "ACTIVE_ONLY", deleted: "DELETED_ONLY" };
const CREATE = "mlflow/experiments/create";

function likeFilter(text) {
  return text ? `name ILIKE '%${text.replace(/'/g, "\\'")}%'` : "";
}

// A button for the call `rpc` on experiment `id`, disabled with the reason when the caller may
// not make it.
function Action({ rpc, id, onClick, children }) {
  const denied = auth.denied(rpc, id) || null;
  return html`<button disabled=${!!denied} title=${denied} onClick=${onClick}>${children}</button>`;
}

export function ExperimentsPage({ route }) {
  const [search, setSearch] = useState(route.query.q || "");
  const view = route.query.view === "deleted" ? "deleted" : "active";
  const [experiments, setExperiments] = useState(null);
  const [error, setError] = useState("");
  const [reload, setReload] = useState(0);
  const [newName, setNewName] = useState("");
  const [editing, setEditing] = useState(null);

  useEffect(() => {
    replaceQuery("/", { q: search, view: view === "deleted" ? view : "" });
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const found = [];
        let token;
        do {
          const page = await post("mlflow/experiments/search", {
            filter: likeFilter(search),
            view_type: VIEWS[view],
            max_results: 1000,
            order_by: ["last_update_time DESC"],
            page_token: token,
          });
          found.push(...(page.experiments || []));
          token = page.next_page_token;
        } while (token && found.length < 10000 && current);
        if (current) {
          setExperiments(found);
          setError("");
        }
      } catch (e) {
        if (current) setError(e.message);
      }
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [search, view, reload]);

  const act = async (path, body) => {
    try {
      await post(path, body);
      // Its creator is granted MANAGE on a new experiment.
      if (path === CREATE) await loadSession();
      setError("");
      setReload((n) => n + 1);
    } catch (e) {
      setError(e.message);
    }
  };
  const create = (event) => {
    event.preventDefault();
    if (newName.trim()) act(CREATE, { name: newName.trim() });
    setNewName("");
  };
  const rename = (event) => {
    event.preventDefault();
    act("mlflow/experiments/update", { experiment_id: editing.id, new_name: editing.name });
    setEditing(null);
  };
  const createDenied = auth.denied("CreateExperiment") || null;

  return html`<section class="page">
    <div class="toolbar">
      <h1>Experiments</h1>
      <input type="search" class="grow" placeholder="Search experiments by name"
        aria-label="Search experiments" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      <div class="tabs" role="tablist">
        <a role="tab" aria-selected=${view === "active"} href=${href("/", { q: search })}>Active</a>
        <a role="tab" aria-selected=${view === "deleted"}
          href=${href("/", { q: search, view: "deleted" })}>Deleted</a>
      </div>
    </div>
    <form class="toolbar" onSubmit=${create}>
      <input placeholder="New experiment name" aria-label="New experiment name" value=${newName}
        disabled=${!!createDenied} title=${createDenied} onInput=${(e) => setNewName(e.target.value)} />
      <button type="submit" disabled=${!!createDenied} title=${createDenied}>Create</button>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${experiments === null
      ? html`<p class="muted">Loading…</p>`
      : html`<table class="grid experiments">
          <thead><tr><th>ID</th><th>Name</th><th>Created</th><th>Last update</th><th></th></tr></thead>
          <tbody>
            ${experiments.map(
              (x) => html`<tr key=${x.experiment_id}>
                <td class="num">${x.experiment_id}</td>
                <td>
                  ${editing && editing.id === x.experiment_id
                    ? html`<form class="inline" onSubmit=${rename}>
                        <input aria-label="New name" value=${editing.name} autofocus
                          onInput=${(e) => setEditing({ ...editing, name: e.target.value })}
                          onKeyDown=${(e) => e.key === "Escape" && setEditing(null)} />
                        <button type="submit">Save</button>
                      </form>`
                    : html`<a href=${href(`/experiments/${x.experiment_id}`)}>${x.name}</a>`}
                </td>
                <td>${formatTime(x.creation_time)}</td>
                <td>${formatTime(x.last_update_time)}</td>
                <td class="actions">
                  ${view === "active"
                    ? html`<${Action} rpc="UpdateExperiment" id=${x.experiment_id}
                          onClick=${() => setEditing({ id: x.experiment_id, name: x.name })}>Rename<//>
                        <${Action} rpc="DeleteExperiment" id=${x.experiment_id}
                          onClick=${() => act("mlflow/experiments/delete", { experiment_id: x.experiment_id })}>Delete<//>`
                    : html`<${Action} rpc="RestoreExperiment" id=${x.experiment_id}
                        onClick=${() => act("mlflow/experiments/restore", { experiment_id: x.experiment_id })}>Restore<//>`}
                </td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${experiments.length === 0 ? html`<p class="muted">No experiments.</p>` : null}`}
  </section>`;
}
