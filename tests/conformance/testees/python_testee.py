"""The Python testee: NDJSON requests on stdin, one `trackwire.TrackingClient` call each, NDJSON
responses on stdout. The protocol and the action vocabulary are in ../README.md."""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path, PurePosixPath

from trackwire import errors
from trackwire.client import TrackingClient, retried_rpcs
from trackwire.client.tracking import now_millis
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import logged_model_service_pb2 as lm
from trackwire.v1 import model_registry_service_pb2 as reg

ERROR_CODES = {
    errors.InvalidArgument: "ERROR_CODE_INVALID_ARGUMENT",
    errors.NotFound: "ERROR_CODE_NOT_FOUND",
    errors.AlreadyExists: "ERROR_CODE_ALREADY_EXISTS",
    errors.ResourceExhausted: "ERROR_CODE_RESOURCE_EXHAUSTED",
    errors.Unauthenticated: "ERROR_CODE_UNAUTHENTICATED",
    errors.PermissionDenied: "ERROR_CODE_PERMISSION_DENIED",
}


def number(value: float) -> float | str:
    """A metric value on the wire: non-finite values as "NaN", "Infinity", "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def tags(entries) -> dict[str, str]:
    return {t.key: t.value for t in entries}


def experiment(e: ent.Experiment) -> dict:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": tags(e.tags),
    }


def registered_model(m: reg.RegisteredModel) -> dict:
    return {
        "name": m.name,
        "description": m.description,
        "tags": tags(m.tags),
        "aliases": {a.alias: a.version for a in m.aliases},
        "latest_versions": [model_version(v) for v in m.latest_versions],
    }


def model_version(v: reg.ModelVersion) -> dict:
    return {
        "name": v.name,
        "version": v.version,
        "current_stage": v.current_stage,
        "source": v.source,
        "run_id": v.run_id,
        "status": reg.ModelVersionStatus.Name(v.status).removeprefix("MODEL_VERSION_STATUS_"),
    }


def run(r: ent.Run) -> dict:
    info = r.info
    shape = {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "status": ent.RunStatus.Name(info.status).removeprefix("RUN_STATUS_"),
        "start_time": info.start_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
        "metrics": {m.key: number(m.value) for m in r.data.metrics},
        "params": {p.key: p.value for p in r.data.params},
        "tags": tags(r.data.tags),
        "inputs": [
            {
                "name": d.dataset.name,
                "digest": d.dataset.digest,
                "source_type": d.dataset.source_type,
                "source": d.dataset.source,
                "tags": tags(d.tags),
            }
            for d in r.inputs.dataset_inputs
        ],
    }
    if info.HasField("end_time"):
        shape["end_time"] = info.end_time
    return shape


def point(m: ent.Metric) -> dict:
    return {"key": m.key, "value": number(m.value), "step": m.step, "timestamp": m.timestamp}


def metric_bucket(b) -> dict:
    return {
        "first_step": b.first_step,
        "last_step": b.last_step,
        "first_timestamp": b.first_timestamp,
        "last_timestamp": b.last_timestamp,
        "last_value": number(b.last_value),
        "min_value": number(b.min_value),
        "max_value": number(b.max_value),
        "count": b.count,
    }


def file_info(f: ent.FileInfo) -> dict:
    shape = {"path": f.path, "is_dir": f.is_dir}
    if f.HasField("file_size"):
        shape["file_size"] = f.file_size
    return shape


def log_artifact(client: TrackingClient, run_id: str, path: str, content: str) -> dict:
    destination = PurePosixPath(path)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp, destination.name)
        local.write_text(content, encoding="utf-8")
        parent = str(destination.parent)
        client.log_artifact(run_id, local, None if parent == "." else parent)
    return {}


def download_artifact(client: TrackingClient, run_id: str, path: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, path, tmp)
        return {"content": Path(local).read_text(encoding="utf-8")}


def logged_model(m) -> dict:
    info = m.info
    return {
        "model_id": info.model_id,
        "experiment_id": info.experiment_id,
        "name": info.name,
        "source_run_id": info.source_run_id,
        "status": lm.LoggedModelStatus.Name(info.status).removeprefix(
            "LOGGED_MODEL_STATUS_LOGGED_MODEL_"
        ),
        "artifact_uri": info.artifact_uri,
        "params": tags(m.data.params),
        "tags": tags(info.tags),
    }


def log_logged_model_artifact(client: TrackingClient, model_id: str, path: str, content: str):
    destination = PurePosixPath(path)
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp, destination.name)
        local.write_text(content, encoding="utf-8")
        parent = str(destination.parent)
        client.log_logged_model_artifact(model_id, local, None if parent == "." else parent)
    return {}


def download_logged_model_artifact(client: TrackingClient, model_id: str, path: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_logged_model_artifacts(model_id, path, tmp)
        return {"content": Path(local).read_text(encoding="utf-8")}


def dataset_input(d: dict) -> ent.DatasetInput:
    fields = ("name", "digest", "source_type", "source", "schema", "profile")
    return ent.DatasetInput(
        dataset=ent.Dataset(**{k: d[k] for k in fields if k in d}),
        tags=[ent.InputTag(key=k, value=v) for k, v in d.get("tags", {}).items()],
    )


def metric(m: dict) -> ent.Metric:
    return ent.Metric(
        key=m["key"],
        value=float(m["value"]),
        step=int(m.get("step", 0)),
        timestamp=int(m["timestamp"]) if "timestamp" in m else now_millis(),
    )


def integer(value) -> int | None:
    return None if value is None else int(value)


def perform(client: TrackingClient, action: str, a: dict):
    if action == "create_experiment":
        eid = client.create_experiment(a["name"], a.get("artifact_location"), a.get("tags"))
        return {"experiment_id": eid}
    if action == "get_experiment":
        return experiment(client.get_experiment(a["experiment_id"]))
    if action == "get_experiment_by_name":
        return experiment(client.get_experiment_by_name(a["name"]))
    if action == "search_experiments":
        page = client.search_experiments(
            a.get("filter"),
            a.get("order_by"),
            a.get("view_type", "ACTIVE_ONLY"),
            integer(a.get("max_results")),
            a.get("page_token"),
        )
        return {"experiments": [experiment(e) for e in page], "next_page_token": page.token}
    if action == "rename_experiment":
        client.rename_experiment(a["experiment_id"], a["new_name"])
    elif action == "delete_experiment":
        client.delete_experiment(a["experiment_id"])
    elif action == "restore_experiment":
        client.restore_experiment(a["experiment_id"])
    elif action == "set_experiment_tag":
        client.set_experiment_tag(a["experiment_id"], a["key"], a["value"])
    elif action == "delete_experiment_tag":
        client.delete_experiment_tag(a["experiment_id"], a["key"])
    elif action == "create_run":
        return run(
            client.create_run(
                a["experiment_id"],
                start_time=integer(a.get("start_time")),
                tags=a.get("tags"),
                run_name=a.get("run_name"),
            )
        )
    elif action == "get_run":
        return run(client.get_run(a["run_id"]))
    elif action == "update_run":
        client.update_run(
            a["run_id"], a.get("status"), integer(a.get("end_time")), a.get("run_name")
        )
    elif action == "delete_run":
        client.delete_run(a["run_id"])
    elif action == "restore_run":
        client.restore_run(a["run_id"])
    elif action == "delete_runs":
        deleted = client.delete_runs(
            a["experiment_id"], integer(a["max_timestamp_millis"]), integer(a.get("max_runs"))
        )
        return {"runs_deleted": deleted}
    elif action == "log_param":
        client.log_param(a["run_id"], a["key"], a["value"])
    elif action == "log_metric":
        client.log_metric(
            a["run_id"],
            a["key"],
            float(a["value"]),
            timestamp=integer(a.get("timestamp")),
            step=integer(a.get("step")),
        )
    elif action == "set_tag":
        client.set_tag(a["run_id"], a["key"], a["value"])
    elif action == "delete_tag":
        client.delete_tag(a["run_id"], a["key"])
    elif action == "log_batch":
        client.log_batch(
            a["run_id"],
            metrics=[metric(m) for m in a.get("metrics", [])],
            params=a.get("params", {}),
            tags=a.get("tags", {}),
        )
    elif action == "log_inputs":
        client.log_inputs(a["run_id"], [dataset_input(d) for d in a["datasets"]])
    elif action == "get_metric_history":
        return {"metrics": [point(m) for m in client.get_metric_history(a["run_id"], a["key"])]}
    elif action == "get_metric_buckets":
        response = client.get_metric_buckets(
            a["run_ids"],
            a["key"],
            integer(a.get("start_step")),
            integer(a.get("end_step")),
            integer(a.get("buckets")),
        )
        return {
            "start_step": response.start_step,
            "end_step": response.end_step,
            "bucket_width": response.bucket_width,
            "runs": [
                {"run_id": r.run_id, "buckets": [metric_bucket(b) for b in r.buckets]}
                for r in response.runs
            ],
        }
    elif action == "search_runs":
        page = client.search_runs(
            a["experiment_ids"],
            a.get("filter"),
            a.get("view_type", "ACTIVE_ONLY"),
            integer(a.get("max_results")),
            a.get("order_by"),
            a.get("page_token"),
        )
        return {"runs": [run(r) for r in page], "next_page_token": page.token}
    elif action == "log_artifact":
        return log_artifact(client, a["run_id"], a["path"], a["content"])
    elif action == "list_artifacts":
        return {"files": [file_info(f) for f in client.list_artifacts(a["run_id"], a.get("path"))]}
    elif action == "download_artifact":
        return download_artifact(client, a["run_id"], a["path"])
    elif action == "delete_artifact":
        client.delete_artifact(a["run_id"], a["path"])
    elif action == "create_registered_model":
        return registered_model(client.create_registered_model(a["name"]))
    elif action == "get_registered_model":
        return registered_model(client.get_registered_model(a["name"]))
    elif action == "search_registered_models":
        models = client.search_registered_models(a.get("filter"))
        return {"registered_models": [registered_model(m) for m in models]}
    elif action == "create_model_version":
        return model_version(client.create_model_version(a["name"], a["source"], a.get("run_id")))
    elif action == "get_model_version":
        return model_version(client.get_model_version(a["name"], a["version"]))
    elif action == "search_model_versions":
        versions = client.search_model_versions(a.get("filter"))
        return {"model_versions": [model_version(v) for v in versions]}
    elif action == "create_logged_model":
        model = client.create_logged_model(
            a["experiment_id"], a.get("name"), a.get("source_run_id"), a.get("params")
        )
        return logged_model(model)
    elif action == "finalize_logged_model":
        return logged_model(client.finalize_logged_model(a["model_id"]))
    elif action == "get_logged_model":
        return logged_model(client.get_logged_model(a["model_id"]))
    elif action == "search_logged_models":
        page = client.search_logged_models(
            a["experiment_ids"],
            a.get("filter"),
            max_results=integer(a.get("max_results")),
            page_token=a.get("page_token"),
        )
        return {"models": [logged_model(m) for m in page], "next_page_token": page.token}
    elif action == "log_logged_model_artifact":
        return log_logged_model_artifact(client, a["model_id"], a["path"], a["content"])
    elif action == "list_logged_model_artifacts":
        files = client.list_logged_model_artifacts(a["model_id"], a.get("path"))
        return {"files": [file_info(f) for f in files]}
    elif action == "download_logged_model_artifact":
        return download_logged_model_artifact(client, a["model_id"], a["path"])
    elif action == "retryable_rpcs":
        return {"rpcs": retried_rpcs()}
    else:
        raise errors.InvalidArgument(f"the python testee does not know the action {action!r}")
    return {}


def main() -> None:
    clients: dict[str, TrackingClient] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        uri = request["tracking_uri"]
        try:
            if uri not in clients:
                clients[uri] = TrackingClient(uri)
            response = {
                "id": request["id"],
                "result": perform(clients[uri], request["action"], request.get("args") or {}),
            }
        except Exception as e:  # every failure is an answer to the runner
            code = next(
                (c for cls, c in ERROR_CODES.items() if isinstance(e, cls)), "ERROR_CODE_INTERNAL"
            )
            message = str(e) if isinstance(e, errors.TrackwireError) else f"{type(e).__name__}: {e}"
            response = {"id": request["id"], "error": {"code": code, "message": message}}
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()
    for client in clients.values():
        client.close()


if __name__ == "__main__":
    main()
