"""The chart summaries of a run's metrics, built in the background when the run ends.

A block's summary (store/metric_blocks.py) is built by the first chart that reads it, which
then reads the block's points once. A run that ends gets its summaries at once, off the
request and off the write path, so that the charts of finished runs open from summaries.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from trackwire.server.store import metric_blocks
from trackwire.server.store.database import Database

_log = logging.getLogger(__name__)


class ChartSummaries:
    def __init__(self, db: Database):
        self._db = db
        # One thread: the summaries of ended runs are built one after another.
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart-summaries")

    def run_ended(self, run_id: str) -> None:
        self._builder.submit(self._build, run_id)

    def _build(self, run_id: str) -> None:
        try:
            metric_blocks.summarise_run(self._db, run_id)
        except Exception:  # the next chart of the run builds what is missing
            _log.exception("Building the chart summaries of run %s failed", run_id)

    def close(self) -> None:
        """Waits for the run being summarised; drops the others (charts build them)."""
        self._builder.shutdown(wait=True, cancel_futures=True)
