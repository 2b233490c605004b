"""Writes to runs that exist on a server, kept on disk while the server cannot be reached.

When the fluent API's writes to a run outlast the client's retries, they go to a journal in
the offline spool directory ($TRACKWIRE_SPOOL_DIR/journal): the LogBatch requests with their
idempotency keys, and the run's end. The process that wrote a journal replays it as soon as
the server answers again; if it ends first, `trackwire sync` (or the next process that reaches
the server) replays it. A replay sends the very same requests, so a write that reached the
server before its answer was lost, or a journal replayed twice, is stored once.

A journal is one file: the tracking URI on the first line, then records of a kind byte, a
4-byte big-endian length and a serialized request. The process writing a journal holds its
lock (filelock: the lock dies with its holder), so a replay never races the writer; a record
cut short by a crash of the writer is ignored.
"""

from __future__ import annotations

import struct
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from trackwire import errors
from trackwire.client._retry import single_attempt
from trackwire.client.tracking import TrackingClient
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as trk

_LOG_BATCH, _UPDATE_RUN = b"B", b"U"
_HEADER = struct.Struct(">cI")
_SUFFIX = ".journal"

Record = trk.LogBatchRequest | trk.UpdateRunRequest


def journal_dir(spool_directory: Path) -> Path:
    return spool_directory / "journal"


class Journal:
    """A new journal for writes to `target_uri`, locked by this process until `close()`."""

    def __init__(self, spool_directory: Path, target_uri: str):
        directory = journal_dir(spool_directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{uuid.uuid4().hex}{_SUFFIX}"
        self._lock = FileLock(_lock_path(self.path), thread_local=False)
        self._lock.acquire()
        self._appending = threading.Lock()
        header = target_uri.encode() + b"\n"
        self.path.write_bytes(header)
        self._size = self._sent = len(header)  # bytes written, bytes replayed

    def append(self, request: Record) -> None:
        """Adds a LogBatch request (its `request_id` is the prefix of its requests' keys, see
        TrackingClient.log_batch) or an UpdateRun request."""
        kind = _LOG_BATCH if isinstance(request, trk.LogBatchRequest) else _UPDATE_RUN
        body = request.SerializeToString()
        with self._appending, open(self.path, "ab") as f:
            f.write(_HEADER.pack(kind, len(body)) + body)
            self._size += _HEADER.size + len(body)

    def try_replay(self, client: TrackingClient) -> bool:
        """Sends what was not sent yet, each request in one attempt (an unreachable server
        is not waited for); True once everything is sent. Raises errors.Unavailable while the
        server cannot be reached, and the error of a request the server refused, which is
        then passed over."""
        with single_attempt():
            for record, end in _records(self.path, self._sent):
                try:
                    send(client, record)
                except errors.Unavailable:
                    raise
                except errors.TrackwireError:
                    self._sent = end
                    raise
                self._sent = end
        return self.all_sent()

    def all_sent(self) -> bool:
        return self._sent == self._size

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
        self.close()
        _lock_path(self.path).unlink(missing_ok=True)

    def close(self) -> None:
        """Releases the journal; what it holds stays for `trackwire sync`."""
        if self._lock.is_locked:
            self._lock.release()


def pending(spool_directory: Path) -> bool:
    directory = journal_dir(spool_directory)
    return directory.is_dir() and any(directory.glob(f"*{_SUFFIX}"))


def replay_all(spool_directory: Path, tracking_uri: str | None = None) -> int:
    """Replays and deletes every journal that no live process is writing; how many.
    `tracking_uri` overrides the server each journal was meant for."""
    directory = journal_dir(spool_directory)
    replayed = 0
    for path in sorted(directory.glob(f"*{_SUFFIX}")) if directory.is_dir() else ():
        lock = FileLock(_lock_path(path), thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # its writer is alive and replays it itself
        try:
            if not path.exists():
                continue  # sent by another process meanwhile
            with open(path, "rb") as f:
                target = f.readline().decode().strip()
            with TrackingClient(tracking_uri or target) as client:
                for record, _ in _records(path):
                    send(client, record)
            path.unlink()
            replayed += 1
        finally:
            lock.release()
        _lock_path(path).unlink(missing_ok=True)
    return replayed


def send(client: TrackingClient, record: Record, metrics: list[ent.Metric] | None = None) -> None:
    """Sends one journal record (retried as the client's transport allows). `metrics`, when
    given, are the batch's points in place of the request's own (which spares a copy)."""
    if isinstance(record, trk.LogBatchRequest):
        client.log_batch(
            record.run_id,
            metrics=record.metrics if metrics is None else metrics,
            params=record.params,
            tags=record.tags,
            request_id_prefix=record.request_id,
        )
    else:
        client.update_run(
            record.run_id,
            status=record.status,
            end_time=record.end_time if record.HasField("end_time") else None,
        )


def _records(path: Path, offset: int | None = None) -> Iterator[tuple[Record, int]]:
    """The records after `offset` (the start: after the header line), each with the offset
    where it ends."""
    with open(path, "rb") as f:
        if offset is None:
            f.readline()
        else:
            f.seek(offset)
        while len(header := f.read(_HEADER.size)) == _HEADER.size:
            kind, length = _HEADER.unpack(header)
            body = f.read(length)
            if len(body) < length:
                return  # cut short by a crash of its writer: never acknowledged to anyone
            cls = trk.LogBatchRequest if kind == _LOG_BATCH else trk.UpdateRunRequest
            yield cls.FromString(body), f.tell()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")
