"""The model registry's tables (SQLAlchemy Core), beside the tracking tables in schema.py.

Versions, tags, aliases and grants refer to their model by name, as MLflow's do; a rename
updates them in the same transaction.
"""

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from trackwire.server.store.schema import metadata

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("user_id", String(256), nullable=False, server_default=""),
    Column("description", Text, nullable=False, server_default=""),
    # The highest version number ever given: numbers of deleted versions are not reused.
    Column("last_version", Integer, nullable=False, server_default="0"),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("user_id", String(256), nullable=False, server_default=""),
    Column("current_stage", String(20), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False),
    Column("run_id", String(32), nullable=False, server_default=""),
    Column("run_link", Text, nullable=False, server_default=""),
    Column("model_id", String(64), nullable=False, server_default=""),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("alias", String(256), primary_key=True),
    Column("version", Integer, nullable=False),
)

registered_model_permissions = Table(
    "registered_model_permissions",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("user_name", String(256), primary_key=True),
    Column("permission", String(32), nullable=False),
)
