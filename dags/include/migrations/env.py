"""Alembic environment of the pipeline's tables (schemas raw and clean of database `mlops`).

Run only through include.db.migrate(), which opens the transaction and hands over its
connection: there is no alembic.ini and no offline (SQL script) mode. The version table is
the pipeline's own (database `mlops` also holds the model API's and the data API's tables;
Airflow's and MLflow's `alembic_version` live in their own databases).
"""
from alembic import context
from sqlalchemy import text

from include.db import MIGRATION_LOCK_KEY, VERSION_TABLE

config = context.config
connection = config.attributes["connection"]
applied: list = config.attributes["applied"]

context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    version_table_schema="public",
    # Every revision in the caller's one transaction: all of them or none.
    transaction_per_migration=False,
    on_version_apply=lambda ctx, step, heads, run_args: applied.append(step.up_revision_id),
)

with context.begin_transaction():
    # Before the version table is read: concurrent runs (several DAG tasks, workers) wait here
    # until the first commits, then find nothing to do. Released at commit or rollback.
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.run_migrations()
