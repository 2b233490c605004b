"""System metrics of a run: CPU, memory, disk, network and, where present, GPUs, sampled in a
background thread under MLflow's key names (`system/cpu_utilization_percentage`, ...).

Needs psutil (`pip install trackwire[system-metrics]`); GPUs through nvidia-ml-py when it is
installed and a driver answers, skipped otherwise. The interval is
`$TRACKWIRE_SYSTEM_METRICS_SAMPLING_INTERVAL`, else MLflow's
`$MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`, else 10 seconds; steps count 0, 1, 2, ...
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("trackwire")

DEFAULT_INTERVAL_SECONDS = 10.0
_MB = 1024 * 1024


def sampling_interval() -> float:
    for name in (
        "TRACKWIRE_SYSTEM_METRICS_SAMPLING_INTERVAL",
        "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL",
    ):
        value = os.environ.get(name)
        if value:
            return float(value)
    return DEFAULT_INTERVAL_SECONDS


class _Gpus:
    """GPU figures through NVML; empty where there is no library or no driver."""

    def __init__(self) -> None:
        self.handles: list = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handles = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception:  # no package, no driver, no device: no GPU metrics
            self.handles = []

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for i, handle in enumerate(self.handles):
            nvml = self.nvml
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            values[f"system/gpu_{i}_memory_usage_percentage"] = 100.0 * memory.used / memory.total
            values[f"system/gpu_{i}_memory_usage_megabytes"] = memory.used / _MB
            values[f"system/gpu_{i}_utilization_percentage"] = float(
                nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            )
            try:
                power = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
                limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
                values[f"system/gpu_{i}_power_usage_watts"] = power
                values[f"system/gpu_{i}_power_usage_percentage"] = 100.0 * power / limit
            except Exception:  # power readings are not supported on every device
                pass
        return values


def sample(psutil, gpus: _Gpus, network_start) -> dict[str, float]:
    """One reading of every system metric."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(os.path.abspath(os.sep))
    network = psutil.net_io_counters()
    values = {
        "system/cpu_utilization_percentage": psutil.cpu_percent(),
        "system/system_memory_usage_megabytes": (memory.total - memory.available) / _MB,
        "system/system_memory_usage_percentage": memory.percent,
        "system/disk_usage_percentage": disk.percent,
        "system/disk_usage_megabytes": disk.used / _MB,
        "system/disk_available_megabytes": disk.free / _MB,
        "system/network_receive_megabytes": (network.bytes_recv - network_start.bytes_recv) / _MB,
        "system/network_transmit_megabytes": (network.bytes_sent - network_start.bytes_sent) / _MB,
    }
    values.update(gpus.sample())
    return values


class SystemMetricsMonitor:
    """Samples every `interval` seconds and hands each reading to `log_metrics(values, step)`
    until `stop()`; the first reading is taken one interval after `start()`."""

    def __init__(
        self, log_metrics: Callable[[dict[str, float], int], None], interval: float | None = None
    ):
        try:
            import psutil
        except ImportError:
            raise ImportError(
                "system metrics need psutil: pip install 'trackwire[system-metrics]'"
            ) from None
        self._psutil = psutil
        self._log_metrics = log_metrics
        self.interval = interval if interval is not None else sampling_interval()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="trackwire-system-metrics", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        gpus = _Gpus()
        network_start = self._psutil.net_io_counters()
        self._psutil.cpu_percent()  # the first call only starts the CPU measurement
        step = 0
        next_at = time.monotonic() + self.interval
        while not self._stopped.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.interval
            try:
                self._log_metrics(sample(self._psutil, gpus, network_start), step)
            except Exception as e:  # a failed reading must not end the training run
                log.warning("trackwire: system metrics not logged: %s", e)
            step += 1
