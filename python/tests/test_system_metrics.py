"""System metrics sampled into a real run under MLflow's key names."""

from __future__ import annotations

import threading

from trackwire.client import TrackingClient
from trackwire.system_metrics import SystemMetricsMonitor, sampling_interval
from trackwire.v1 import entities_pb2 as ent

EXPECTED_KEYS = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}


def test_samples_land_in_the_run_with_consecutive_steps(server, unique):
    with TrackingClient(server.tracking_uri) as client:
        run_id = client.create_run(client.create_experiment(unique)).info.run_id
        three_samples = threading.Event()
        steps: list[int] = []

        def log_metrics(values: dict[str, float], step: int) -> None:
            metrics = [
                ent.Metric(key=k, value=v, step=step, timestamp=1) for k, v in values.items()
            ]
            client.log_batch(run_id, metrics=metrics)
            steps.append(step)
            if len(steps) == 3:
                three_samples.set()

        monitor = SystemMetricsMonitor(log_metrics, interval=0.05)
        monitor.start()
        assert three_samples.wait(timeout=60)
        monitor.stop()
        stopped_at = len(steps)
        assert steps[:3] == [0, 1, 2]
        run = client.get_run(run_id)
        assert EXPECTED_KEYS <= {m.key for m in run.data.metrics}
        cpu = client.get_metric_history(run_id, "system/cpu_utilization_percentage")
        assert [m.step for m in cpu] == list(range(stopped_at))
        assert all(0 <= m.value <= 100 for m in cpu)
        assert len(steps) == stopped_at  # nothing after stop()


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.delenv("TRACKWIRE_SYSTEM_METRICS_SAMPLING_INTERVAL", raising=False)
    monkeypatch.delenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", raising=False)
    assert sampling_interval() == 10.0
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "2")
    assert sampling_interval() == 2.0
    monkeypatch.setenv("TRACKWIRE_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.5")
    assert sampling_interval() == 0.5
