"""MLflow 3's logged models: the models, their tags, params and latest metrics, and the
models runs produced and used.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _model_fk(primary_key: bool = True) -> sa.Column:
    return sa.Column(
        "model_id",
        sa.String(40),
        sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        primary_key=primary_key,
    )


def _run_fk() -> sa.Column:
    return sa.Column(
        "run_id", sa.String(32), sa.ForeignKey("runs.run_id", ondelete="CASCADE"), primary_key=True
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(40), primary_key=True),
        sa.Column(
            "experiment_id",
            _ID,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False, server_default=""),
        sa.Column("model_type", sa.String(500), nullable=False, server_default=""),
        sa.Column("source_run_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    )
    op.create_index(
        "ix_logged_models_experiment_stage", "logged_models", ["experiment_id", "lifecycle_stage"]
    )
    for table in ("logged_model_tags", "logged_model_params"):
        op.create_table(
            table,
            _model_fk(),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_table(
        "logged_model_metrics",
        _model_fk(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("dataset_name", sa.String(500), primary_key=True),
        sa.Column("dataset_digest", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "run_model_outputs",
        _run_fk(),
        _model_fk(),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_table("run_model_inputs", _run_fk(), _model_fk())


def downgrade() -> None:
    for table in (
        "run_model_inputs",
        "run_model_outputs",
        "logged_model_metrics",
        "logged_model_params",
        "logged_model_tags",
        "logged_models",
    ):
        op.drop_table(table)
