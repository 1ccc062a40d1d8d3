"""What the two DAG files share: the asset between them, default task arguments, and how
a task gets its settings (environment) and database (Airflow connection `mlops_db`).
Imports stay light: the DAG processor imports this on every parse."""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, BaseHook

DB_CONN_ID = os.environ.get("MLOPS_DB_CONN_ID", "mlops_db")

# Emitted by `ingest` when a batch adds rows; schedules `train`.
RAW_LISTINGS = Asset(name="mlops_raw_listings", uri="mlops://raw/listings")

DEFAULT_ARGS = {
    "owner": "mlops",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
}


def db_params() -> dict[str, Any]:
    conn = BaseHook.get_connection(DB_CONN_ID)
    missing = [f for f in ("host", "login", "schema") if not getattr(conn, f)]
    if missing:
        raise ValueError(f"Airflow connection '{DB_CONN_ID}' lacks {', '.join(missing)} "
                         "(expected postgresql://user:password@host:port/mlops)")
    return {"host": conn.host, "port": int(conn.port or 5432), "user": conn.login,
            "password": conn.password, "dbname": conn.schema, "connect_timeout": 10}


# The train DAG's gauge: Unix time of the last training that produced an evaluated candidate.
# The statsd exporter maps it to mlops_training_last_success_timestamp_seconds
# (config/monitoring/statsd/mapping.yml); the "Last successful training" panel and the
# TrainingPipelineStale alert read it.
TRAINING_SUCCESS_METRIC = "mlops.training.last_success_timestamp"


def report_training_success(dag_id: str) -> None:
    """Record a finished training through Airflow's own StatsD client, which sends it to the
    platform's statsd exporter (a no-op when `[metrics] statsd_on` is off)."""
    import time

    from airflow.sdk.observability import stats

    stats.gauge(TRAINING_SUCCESS_METRIC, time.time(), tags={"dag_id": dag_id})


def settings():
    from include.settings import load_settings

    return load_settings(os.environ)
