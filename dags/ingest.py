"""DAG `ingest`: fetch the next batch from the data API into mlops.raw.listings.

The data API's 400 ("every batch has been served") skips the run instead of failing it.
A batch fetched twice adds nothing (natural key, see dags/README.md).
"""
from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from mlops_common import DEFAULT_ARGS, RAW_LISTINGS, db_params, settings


@dag(
    dag_id="ingest",
    description="Fetch one batch of listings from the data API into mlops.raw.listings",
    schedule=os.environ.get("MLOPS_INGEST_SCHEDULE", "*/5 * * * *"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # The platform's loop runs as soon as it is deployed; other DAGs keep Airflow's default.
    is_paused_upon_creation=False,
    default_args=DEFAULT_ARGS,
    tags=["mlops", "ingest"],
)
def ingest():
    @task
    def ensure_schema() -> list[str]:
        """The pipeline's tables at their latest migration (include/migrations); the revisions applied."""
        from include import db

        return db.migrate(db_params())

    @task(outlets=[RAW_LISTINGS])
    def fetch_batch() -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include import ingest as ingest_lib
        from include.steps import ingest_step

        try:
            counts = ingest_step(db_params(), settings())
        except ingest_lib.NoMoreData as done:
            raise AirflowSkipException(str(done)) from done
        if counts["inserted"] == 0:
            # Nothing new (the batch was already stored): do not wake `train` for nothing.
            raise AirflowSkipException(f"batch {counts['batch_number']} already stored: {counts}")
        return counts

    ensure_schema() >> fetch_batch()


ingest()
