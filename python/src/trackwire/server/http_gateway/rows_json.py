"""JSON bodies written straight from the store's rows, for the largest reads.

A page of metric history is 25,000 points and a page of runs some 15,000 params, tags and
metrics: building a protobuf message for each only to transcode it costs several times the
query. For GetMetricHistory and SearchRuns the service hands these writers its rows instead
(see service.json_writer), and they write exactly what transcode.message_to_json writes for
the response message the gRPC wire gets: the same fields in the same order, empty strings
left out, NaN and infinities as strings, int64 as numbers.

Keys are never empty (every write validates them), so they are written unconditionally;
values and run attributes may be empty and are checked.
"""

from __future__ import annotations

import math
from typing import Any

from trackwire.server.http_gateway import transcode
from trackwire.server.store.sql_store import RunRow, RunRows
from trackwire.v1 import entities_pb2 as pb

_INF = math.inf
_INPUTS = transcode.codec_for(pb.RunInputs.DESCRIPTOR)
# A run's stored status -> its JSON name; UNSPECIFIED (0) is left out, as enums at 0 are.
_STATUS: dict[str, str | None] = {
    value.name.removeprefix("RUN_STATUS_"): value.name.removeprefix("RUN_STATUS_")
    if value.number
    else None
    for value in pb.RunStatus.DESCRIPTOR.values
}


def _double(value: float | None) -> str:
    """A metric value that is not a finite number (None is a stored NaN)."""
    return "NaN" if value is None else transcode.non_finite(value)


def _page(field: str, items: list, next_page_token: str) -> bytes:
    body: dict[str, Any] = {}
    if items:
        body[field] = items
    if next_page_token:
        body["next_page_token"] = next_page_token
    return transcode.dumps(body)


class RowsJson:
    """The gateway's service.JsonWriter."""

    def metric_history(self, key: str, rows: list, next_page_token: str) -> bytes:
        """GetMetricHistoryResponse from (value, timestamp, step, seq) rows."""
        metrics = [
            {
                "key": key,
                "value": value if value is not None and -_INF < value < _INF else _double(value),
                "timestamp": timestamp,
                "step": step,
            }
            for value, timestamp, step, _ in rows
        ]
        return _page("metrics", metrics, next_page_token)

    def search_runs(self, runs: RunRows, next_page_token: str) -> bytes:
        """SearchRunsResponse from a page of RunRows."""
        page = []
        for row in runs.infos:
            run_id = row.run_id
            run: dict[str, Any] = {"info": _run_info(row)}
            data: dict[str, Any] = {}
            metrics = runs.metrics.get(run_id)
            if metrics:
                data["metrics"] = [
                    {
                        "key": key,
                        "value": value
                        if value is not None and -_INF < value < _INF
                        else _double(value),
                        "timestamp": timestamp,
                        "step": step,
                    }
                    for _, key, value, timestamp, step in metrics
                ]
            for field, entries in (("params", runs.params), ("tags", runs.tags)):
                rows = entries.get(run_id)
                if rows:
                    data[field] = [
                        {"key": key, "value": value} if value else {"key": key}
                        for _, key, value in rows
                    ]
            if data:
                run["data"] = data
            inputs = runs.inputs.get(run_id)
            if inputs is not None:
                run["inputs"] = _INPUTS.to_dict(inputs)
            page.append(run)
        return _page("runs", page, next_page_token)


def _run_info(row: RunRow) -> dict[str, Any]:
    """RunInfo of a runs-table row (see sql_store._run_info)."""
    info: dict[str, Any] = {}
    if row.run_id:
        info["run_id"] = info["run_uuid"] = row.run_id
    if row.run_name:
        info["run_name"] = row.run_name
    info["experiment_id"] = str(row.experiment_id)
    if row.user_id:
        info["user_id"] = row.user_id
    status = _STATUS[row.status]
    if status:
        info["status"] = status
    info["start_time"] = row.start_time
    if row.end_time is not None:
        info["end_time"] = row.end_time
    if row.artifact_uri:
        info["artifact_uri"] = row.artifact_uri
    if row.lifecycle_stage:
        info["lifecycle_stage"] = row.lifecycle_stage
    return info
