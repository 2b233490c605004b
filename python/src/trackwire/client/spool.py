"""The offline spool: runs logged while the server was unreachable, uploaded later.

The spool is an embedded trackwire store (SQLite + local artifacts) in
$TRACKWIRE_SPOOL_DIR (default ~/.trackwire/spool). Each spooled run carries the
tracking URI and experiment name it was meant for. `sync` uploads ended runs in the
order they started, exactly once even when interrupted and repeated: the remote run
id is recorded in the spool as soon as the remote run exists, metric batches carry
deterministic idempotency keys, params and tags are idempotent, and artifact uploads
overwrite. Writes to runs that exist on a server, made while it could not be reached, wait
beside them in journals (trackwire.client.journal), which `sync` replays first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock

from trackwire.client import journal
from trackwire.client.tracking import TrackingClient
from trackwire.v1 import entities_pb2 as ent

TARGET_TAG = "trackwire.spool.target"
EXPERIMENT_TAG = "trackwire.spool.experiment"
REMOTE_RUN_TAG = "trackwire.spool.remote_run_id"
_SPOOL_TAGS = (TARGET_TAG, EXPERIMENT_TAG, REMOTE_RUN_TAG)


def spool_dir() -> Path:
    return Path(os.environ.get("TRACKWIRE_SPOOL_DIR") or Path.home() / ".trackwire" / "spool")


def open_spool(directory: Path | None = None) -> TrackingClient:
    directory = directory or spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return TrackingClient(
        f"sqlite:///{directory / 'spool.db'}", artifacts_destination=str(directory / "artifacts")
    )


def has_pending(directory: Path | None = None) -> bool:
    """Cheap check (no store opened) whether anything was ever spooled here."""
    directory = directory or spool_dir()
    return (directory / "spool.db").exists() or journal.pending(directory)


def spool_run_tags(target_uri: str, experiment_name: str) -> dict[str, str]:
    return {TARGET_TAG: target_uri, EXPERIMENT_TAG: experiment_name}


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One sync at a time per spool, across processes (the lock dies with its holder)."""
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / "sync.lock"):
        yield


def sync(directory: Path | None = None, tracking_uri: str | None = None) -> list[tuple[str, str]]:
    """Replays the journals of writes to runs on a server (see trackwire.client.journal),
    then uploads every ended spooled run; returns (spool run id, remote run id) pairs.

    `tracking_uri` overrides the server each run was meant for.
    """
    directory = directory or spool_dir()
    if not has_pending(directory):
        return []
    with _exclusive(directory):
        journal.replay_all(directory, tracking_uri)
        if not (directory / "spool.db").exists():
            return []
        with open_spool(directory) as spool:
            return [
                (run.info.run_id, _sync_run(spool, run, directory, tracking_uri))
                for run in _pending_runs(spool)
            ]


def _sync_run(
    spool: TrackingClient, run: ent.Run, directory: Path, tracking_uri: str | None
) -> str:
    """Uploads one spooled run; its remote run id."""
    tags = {t.key: t.value for t in run.data.tags}
    with TrackingClient(tracking_uri or tags[TARGET_TAG]) as target:
        remote_id = _upload_run(spool, target, run, tags, directory)
    # Synced runs leave the spool (soft-deleted: restorable with the store tools).
    spool.delete_run(run.info.run_id)
    return remote_id


def _pending_runs(spool: TrackingClient) -> list[ent.Run]:
    experiment_ids = [e.experiment_id for e in spool.search_experiments(view_type="ALL")]
    if not experiment_ids:
        return []
    runs: list[ent.Run] = []
    token = None
    while True:
        page = spool.search_runs(
            experiment_ids,
            f"tags.`{TARGET_TAG}` IS NOT NULL",
            "ACTIVE_ONLY",
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    # A RUNNING run is still being logged by some process: it is synced once it ends.
    return [run for run in runs if run.info.status != ent.RUN_STATUS_RUNNING]


def _upload_run(
    spool: TrackingClient, target: TrackingClient, run: ent.Run, tags: dict, directory: Path
) -> str:
    run_id = run.info.run_id
    remote_id = tags.get(REMOTE_RUN_TAG)
    user_tags = {k: v for k, v in tags.items() if k not in _SPOOL_TAGS}
    if not remote_id:
        experiment_id = target.get_or_create_experiment(tags[EXPERIMENT_TAG]).experiment_id
        remote = target.create_run(
            experiment_id,
            start_time=run.info.start_time,
            tags=user_tags,
            run_name=run.info.run_name,
            user_id=run.info.user_id,
        )
        remote_id = remote.info.run_id
        spool.set_tag(run_id, REMOTE_RUN_TAG, remote_id)
    params = {p.key: p.value for p in run.data.params}
    target.log_batch(remote_id, params=params, tags=user_tags)
    for index, key in enumerate(sorted(m.key for m in run.data.metrics)):
        history = spool.get_metric_history(run_id, key)
        target.log_batch(remote_id, metrics=history, request_id_prefix=f"sync-{run_id}-{index}")
    if run.inputs.dataset_inputs:
        target.log_inputs(remote_id, run.inputs.dataset_inputs)
    artifacts = _artifact_root(run, directory)
    if artifacts.is_dir():
        target.log_artifacts(remote_id, artifacts)
    end_time = run.info.end_time if run.info.HasField("end_time") else None
    target.update_run(remote_id, status=run.info.status, end_time=end_time)
    return remote_id


def _artifact_root(run: ent.Run, directory: Path) -> Path:
    # Spooled runs keep their files under the spool's artifacts directory.
    relative = urlparse(run.info.artifact_uri).path.strip("/")
    return directory / "artifacts" / relative
