"""The relational schema of the tracking store (SQLAlchemy Core).

The same tables serve SQLite (embedded default) and PostgreSQL (scale-out).
Alembic migrations in `migrations/` create and upgrade them; this module is the
current shape that the store's queries are written against.

NaN metric values are stored as NULL: SQLite cannot store NaN, and NULL keeps
NaN out of every numeric comparison in searches, as MLflow's semantics want.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias).
_AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", _AUTO_ID, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    # Runs of the experiment, deleted ones included until `trackwire gc` purges them.
    Column("run_count", BigInteger, nullable=False, server_default="0"),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        _AUTO_ID,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column(
        "experiment_id",
        _AUTO_ID,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("run_name", String(250), nullable=False),
    Column("user_id", String(256), nullable=False),
    # RunStatus names without the enum prefix: RUNNING, FINISHED, ...
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("artifact_uri", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("deleted_time", BigInteger, nullable=True),
    # Metric points logged to the run (the quota on total metric steps reads it).
    Column("metric_count", BigInteger, nullable=False, server_default="0"),
    Index("ix_runs_experiment_stage_start", "experiment_id", "lifecycle_stage", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_params_key_value", "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_tags_key_value", "key", "value"),
)

# The full, append-only history of every metric, clustered by its primary key: a metric's
# points lie together in step order (one B-tree to insert into and to read, no rowid).
metrics = Table(
    "metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float(precision=53), nullable=True),  # NULL is NaN
    # 0, or 1, 2, ... for further points logged at the same step and timestamp, in order.
    Column("seq", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "key", "step", "timestamp", "seq", name="pk_metrics"),
    sqlite_with_rowid=False,
)

# The latest point of each metric of each run (highest step, then timestamp):
# what GetRun and searches read, so they never scan the history.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float(precision=53), nullable=True),  # NULL is NaN
    # The metric's blocks numbered below this one have exact summaries in metric_blocks; the
    # others are read point by point (store/metric_blocks.py). The default, the block of the
    # lowest step, claims none.
    Column("summarized_below", BigInteger, nullable=False, server_default=str(-(2**58))),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

# Per metric of each run, a summary of each block of steps (store/metric_blocks.py): what
# charts read for a long history instead of its points.
metric_blocks = Table(
    "metric_blocks",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("block", BigInteger, nullable=False),  # floor(step / BLOCK_STEPS)
    Column("points", BigInteger, nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("first_timestamp", BigInteger, nullable=False),  # the earliest
    Column("last_timestamp", BigInteger, nullable=False),  # the latest
    Column("min_value", Float(precision=53), nullable=True),  # NULL: only NaN points
    Column("max_value", Float(precision=53), nullable=True),
    PrimaryKeyConstraint("run_id", "key", "block", name="pk_metric_blocks"),
    sqlite_with_rowid=False,
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_id", _AUTO_ID, primary_key=True, autoincrement=True),
    Column(
        "experiment_id",
        _AUTO_ID,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Index("ux_datasets_experiment_name_digest", "experiment_id", "name", "digest", unique=True),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("input_id", _AUTO_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column(
        "dataset_id",
        _AUTO_ID,
        ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Index("ux_run_inputs_run_dataset", "run_id", "dataset_id", unique=True),
)

input_tags = Table(
    "input_tags",
    metadata,
    Column(
        "input_id",
        _AUTO_ID,
        ForeignKey("run_inputs.input_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# Idempotency keys of applied LogBatch/LogMetric requests: a retried request whose
# key is here was stored already and is acknowledged without being applied again.
applied_requests = Table(
    "applied_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("applied_time", BigInteger, nullable=False),
    Index("ix_applied_requests_time", "applied_time"),
)

# Bearer tokens: only a SHA-256 digest of each token is kept (see server/auth/tokens.py).
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_name", String(256), nullable=False),
    # read, write or admin
    Column("scope", String(16), nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("revoked_time", BigInteger, nullable=True),
)

# Grants of users on experiments (READ, EDIT, MANAGE, NO_PERMISSIONS); without one the
# server's default permission applies.
experiment_permissions = Table(
    "experiment_permissions",
    metadata,
    Column(
        "experiment_id",
        _AUTO_ID,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_name", String(256), primary_key=True),
    Column("permission", String(32), nullable=False),
    Index("ix_experiment_permissions_user", "user_name"),
)

# Secrets every replica of a store shares, by name: the key that signs page tokens (see
# store/page_tokens.py), created by the first server to open the store.
store_keys = Table(
    "store_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
)

# MLflow 3's logged models (server/store/logged_models.py). A model's artifacts live under
# its experiment's location, in models/<model_id>/artifacts.
logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(40), primary_key=True),
    Column(
        "experiment_id",
        _AUTO_ID,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    # LoggedModelStatus names without the enum prefix: LOGGED_MODEL_PENDING, ...
    Column("status", String(40), nullable=False),
    Column("status_message", Text, nullable=False, server_default=""),
    Column("model_type", String(500), nullable=False, server_default=""),
    Column("source_run_id", String(32), nullable=False, server_default=""),
    Column("artifact_uri", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False),
    Index("ix_logged_models_experiment_stage", "experiment_id", "lifecycle_stage"),
)

_model_id = ("model_id", String(40))

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column(*_model_id, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column(*_model_id, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# The latest value of each metric logged with a model_id, per dataset ("" when none).
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column(*_model_id, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("dataset_name", String(500), primary_key=True),
    Column("dataset_digest", String(64), primary_key=True),
    Column("run_id", String(32), nullable=False),
    Column("value", Float, nullable=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
)

# Models a run produced (LogOutputs) or used (LogInputs' models).
run_model_outputs = Table(
    "run_model_outputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column(*_model_id, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("step", BigInteger, nullable=False),
)

run_model_inputs = Table(
    "run_model_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True),
    Column(*_model_id, ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
)
