"""The tracking store as the services see it: one object per concern over one database."""

from __future__ import annotations

from sqlalchemy import Engine

from trackwire.server.store.database import Database
from trackwire.server.store.experiments import Experiments
from trackwire.server.store.history import MetricHistory
from trackwire.server.store.inputs import Inputs
from trackwire.server.store.logged_models import LoggedModels
from trackwire.server.store.page_tokens import PageTokens
from trackwire.server.store.quotas import Quotas
from trackwire.server.store.run_logging import RunLogging
from trackwire.server.store.runs import Runs


class TrackingStore:
    """Experiments, runs, what is logged to runs, their inputs and metric history, in SQL.

    SQLAlchemy Core over SQLite (embedded default) or PostgreSQL. Every write is one
    transaction: a request is stored whole or not at all.
    """

    def __init__(self, engine: Engine, quotas: Quotas | None = None):
        self.db = Database(engine)
        quotas = quotas or Quotas()
        page_tokens = PageTokens(self.db)
        self.experiments = Experiments(self.db, quotas, page_tokens)
        self.runs = Runs(self.db, quotas, page_tokens)
        self.logging = RunLogging(self.db, quotas)
        self.inputs = Inputs(self.db)
        self.logged_models = LoggedModels(self.db, page_tokens)
        self.history = MetricHistory(self.db, page_tokens)
