"""Two clients with one interface: MLflow's REST API over HTTP, and trackwire's native gRPC.

The REST client is the same code for MLflow and for trackwire's gateway: one keep-alive
connection (the standard library's http.client, with TCP_NODELAY), JSON bodies as MLflow's
REST API defines them, encoded and decoded with orjson. A thin client on purpose: httpx
costs about 0.5 ms a call here, a constant that would hide part of the servers' difference.
"""

from __future__ import annotations

import http.client
import socket
import time
from urllib.parse import urlencode, urlsplit

import grpc
import orjson

from trackwire.client._grpc import GrpcTransport
from trackwire.v1 import entities_pb2 as ent
from trackwire.v1 import tracking_service_pb2 as ts

HISTORY_PAGE = 25_000  # MLflow's client pages get-history by this many points
_API = "/api/2.0/mlflow/"
_JSON = {"Content-Type": "application/json"}


def now_ms() -> int:
    return int(time.time() * 1000)


class RestClient:
    def __init__(self, base_url: str):
        url = urlsplit(base_url)
        self.http = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
        self._connect()

    def _connect(self) -> None:
        self.http.close()
        self.http.connect()
        self.http.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: bytes | None = None) -> dict:
        return self._call_path(method, _API + path, body)

    def _call_path(self, method: str, path: str, body: bytes | None = None) -> dict:
        headers = _JSON if body else {}
        try:
            self.http.request(method, path, body=body, headers=headers)
            response = self.http.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection (uvicorn after 5 s): the
            # request never reached it, so it is sent again on a new connection.
            self._connect()
            self.http.request(method, path, body=body, headers=headers)
            response = self.http.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:500]!r}")
        return orjson.loads(data)

    def _post(self, path: str, body: dict) -> dict:
        return self._call("POST", path, orjson.dumps(body))

    def create_experiment(self, name: str) -> str:
        return self._post("experiments/create", {"name": name})["experiment_id"]

    def create_run(self, experiment_id: str) -> str:
        body = {"experiment_id": experiment_id, "start_time": now_ms()}
        return self._post("runs/create", body)["run"]["info"]["run_id"]

    def log_metric(self, run_id: str, key: str, value: float, step: int) -> None:
        self._post(
            "runs/log-metric",
            {"run_id": run_id, "key": key, "value": value, "timestamp": now_ms(), "step": step},
        )

    @staticmethod
    def batch_payload(run_id: str, metrics=(), params=None, tags=None) -> dict:
        """A log-batch body; metrics: (key, value, timestamp, step) tuples."""
        body: dict = {
            "run_id": run_id,
            "metrics": [
                {"key": k, "value": v, "timestamp": t, "step": s} for k, v, t, s in metrics
            ],
        }
        if params:
            body["params"] = [{"key": k, "value": v} for k, v in params.items()]
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        return body

    def send_batch(self, payload: dict) -> None:
        self._post("runs/log-batch", payload)

    def log_batch(self, run_id: str, metrics=(), params=None, tags=None) -> None:
        self.send_batch(self.batch_payload(run_id, metrics, params, tags))

    def read_history(self, run_id: str, key: str) -> int:
        count, token = 0, None
        while True:
            query = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
            if token:
                query["page_token"] = token
            page = self._call("GET", "metrics/get-history?" + urlencode(query))
            count += len(page.get("metrics", []))
            token = page.get("next_page_token")
            if not token:
                return count

    def search(
        self,
        experiment_id: str,
        filter: str = "",
        order_by=(),
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> tuple[int, str | None]:
        body: dict = {"experiment_ids": [experiment_id], "max_results": max_results}
        if filter:
            body["filter"] = filter
        if order_by:
            body["order_by"] = list(order_by)
        if page_token:
            body["page_token"] = page_token
        page = self._post("runs/search", body)
        return len(page.get("runs", [])), page.get("next_page_token") or None


class GrpcClient:
    """Request messages sent through the Python client's gRPC transport: what TrackingClient
    sends once it has built them (LogBatch goes over a LogBatchStream per thread)."""

    def __init__(self, port: int):
        self.transport = GrpcTransport(f"grpc://127.0.0.1:{port}")
        # Connected now, as the REST client is: a gRPC channel would connect at its first call.
        grpc.channel_ready_future(self.transport.channel).result(timeout=60)
        self.stub = self.transport.tracking

    def close(self) -> None:
        self.transport.close()

    def create_experiment(self, name: str) -> str:
        return self.stub.CreateExperiment(ts.CreateExperimentRequest(name=name)).experiment_id

    def create_run(self, experiment_id: str) -> str:
        request = ts.CreateRunRequest(experiment_id=experiment_id, start_time=now_ms())
        return self.stub.CreateRun(request).run.info.run_id

    def log_metric(self, run_id: str, key: str, value: float, step: int) -> None:
        self.stub.LogMetric(
            ts.LogMetricRequest(run_id=run_id, key=key, value=value, timestamp=now_ms(), step=step)
        )

    @staticmethod
    def batch_payload(run_id: str, metrics=(), params=None, tags=None) -> ts.LogBatchRequest:
        """A LogBatch request; metrics: (key, value, timestamp, step) tuples."""
        return ts.LogBatchRequest(
            run_id=run_id,
            metrics=[ent.Metric(key=k, value=v, timestamp=t, step=s) for k, v, t, s in metrics],
            params=[ent.Param(key=k, value=v) for k, v in (params or {}).items()],
            tags=[ent.RunTag(key=k, value=v) for k, v in (tags or {}).items()],
        )

    def send_batch(self, payload: ts.LogBatchRequest) -> None:
        self.stub.LogBatch(payload)

    def log_batch(self, run_id: str, metrics=(), params=None, tags=None) -> None:
        self.send_batch(self.batch_payload(run_id, metrics, params, tags))

    def read_history(self, run_id: str, key: str) -> int:
        # Columnar chunks: what the Python client asks for (parallel step/time/value arrays).
        request = ts.StreamMetricHistoryRequest(run_id=run_id, metric_key=key, columnar=True)
        return sum(len(chunk.steps) for chunk in self.stub.StreamMetricHistory(request))

    def search(
        self,
        experiment_id: str,
        filter: str = "",
        order_by=(),
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> tuple[int, str | None]:
        page = self.stub.SearchRuns(
            ts.SearchRunsRequest(
                experiment_ids=[experiment_id],
                filter=filter,
                order_by=list(order_by),
                max_results=max_results,
                page_token=page_token or "",
            )
        )
        return len(page.runs), page.next_page_token or None


def connect(kind: str, address: str | int):
    """A fresh client: kind 'rest' with a base URL, or 'grpc' with a port."""
    return RestClient(address) if kind == "rest" else GrpcClient(int(address))
