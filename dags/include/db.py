"""Tables of the pipeline in database `mlops` and fast bulk writes.

Schemas: raw (as received), clean (normalised, split, decisions, model history). Their
schema is versioned: Alembic revisions in include/migrations/versions, applied by `migrate`
in the first task of each DAG (see dags/README.md, "Schema and migrations").
"""
from __future__ import annotations

import csv
import io
import json
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

# The pipeline's migrations: Alembic revisions in include/migrations/versions, in order.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The pipeline's own version table (public schema): database `mlops` also holds the model API's
# and the data API's tables and version tables; Airflow's and MLflow's `alembic_version` are in
# their own databases.
VERSION_TABLE = "pipeline_alembic_version"
# Serialises concurrent runs (pg_advisory_xact_lock): "mlops" in ASCII, then the owner's number
# (1 model API, 2 data API, 3 pipeline), so owners never wait on each other.
MIGRATION_LOCK_KEY = 0x6d6c6f707303
# Alembic's `context` and `op` are process-wide proxies: one run at a time in a process (the
# advisory lock serialises processes).
_ALEMBIC_RUN = threading.Lock()


@contextmanager
def connect(params: dict[str, Any]) -> Iterator[Any]:
    """A psycopg2 connection from keyword parameters (host, port, user, password, dbname),
    rolled back on error and always closed."""
    import psycopg2

    conn = psycopg2.connect(**params)
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def migrate(params: dict[str, Any], revision: str = "head") -> list[str]:
    """Brings the pipeline's tables to `revision` (the latest by default) with Alembic, in one
    transaction on a connection of its own made from psycopg2 keyword parameters. Concurrent
    callers wait on an advisory lock, then find nothing to do. Returns the revisions applied,
    in order (empty when already there)."""
    import psycopg2
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine("postgresql+psycopg2://", creator=lambda: psycopg2.connect(**params), poolclass=NullPool)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    applied: list[str] = []
    try:
        with _ALEMBIC_RUN, engine.begin() as connection:
            config.attributes.update(connection=connection, applied=applied)
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    return applied


def _csv_value(value: Any) -> Any:
    if value is None:
        return r"\N"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def copy_rows(cur, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into `table` (a temp table or a real one) in one round trip."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    buffer.seek(0)
    cur.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
        buffer,
    )
