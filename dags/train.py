"""DAG `train`: clean the new raw rows, decide whether to train, train and register a
candidate, compare it with the `production` alias and promote it when it is better.

Scheduled by the `mlops_raw_listings` asset that `ingest` emits when it adds rows.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from mlops_common import DEFAULT_ARGS, RAW_LISTINGS, db_params, report_training_success, settings


@dag(
    dag_id="train",
    description="Clean new rows, decide, train (sklearn -> ONNX), register in MLflow, promote",
    schedule=[RAW_LISTINGS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # The platform's loop runs as soon as it is deployed; other DAGs keep Airflow's default.
    is_paused_upon_creation=False,
    default_args=DEFAULT_ARGS,
    tags=["mlops", "train"],
)
def train():
    @task
    def clean_new_rows() -> dict:
        from datetime import date

        from include.steps import clean_step

        return clean_step(db_params(), settings(), date.today())

    @task
    def decide(cleaned: dict) -> dict:
        from include.steps import decide_step

        return {**decide_step(db_params(), settings()), "cleaned": cleaned}

    @task
    def train_and_register(decision: dict) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.steps import train_step

        if not decision["train"]:
            raise AirflowSkipException(f"training not warranted: {decision['reason']}")
        return train_step(db_params(), settings(), decision)

    @task
    def promote(candidate: dict) -> dict:
        from include.steps import promote_step

        result = promote_step(db_params(), settings(), candidate)
        # Trained, registered and compared: monitoring's "last successful training".
        report_training_success("train")
        return result

    promote(train_and_register(decide(clean_new_rows())))


train()
