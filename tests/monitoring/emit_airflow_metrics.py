"""Send Airflow's own metrics the way a deployed Airflow does, for the monitoring check
(tests/monitoring/prometheus.check.ts). Run with the Airflow venv's Python, the rendered
AIRFLOW__METRICS__* environment (components/airflow.ts statsdEnv) and dags/ on sys.path.

- The scheduler's side: its stats module initialised exactly as SchedulerJobRunner does,
  then real DagRun objects report their finished state through DagRun's own method
  (`dagrun.duration.<state>` with dag_id and run_type tags).
- A task's side: the Task SDK's stats initialised exactly as task_runner.main() does, then
  the train DAG's own helper (dags/mlops_common.py report_training_success).

Prints one JSON line: what was sent.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone


def main() -> int:
    from airflow._shared.observability.metrics import stats as core_stats
    from airflow.configuration import conf
    from airflow.models.dagrun import DagRun
    from airflow.observability.metrics import stats_utils as core_stats_utils
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    if not conf.getboolean("metrics", "statsd_on"):
        print("AIRFLOW__METRICS__STATSD_ON is not set: nothing would be sent", file=sys.stderr)
        return 2

    core_stats.initialize(
        factory=core_stats_utils.get_stats_factory(),
        export_legacy_names=conf.getboolean("metrics", "legacy_names_on"),
    )
    now = datetime.now(timezone.utc)
    runs = [
        ("ingest", DagRunType.SCHEDULED, DagRunState.SUCCESS, 4),
        ("train", DagRunType.ASSET_TRIGGERED, DagRunState.SUCCESS, 95),
        ("train", DagRunType.ASSET_TRIGGERED, DagRunState.FAILED, 12),
    ]
    for dag_id, run_type, state, seconds in runs:
        run = DagRun(dag_id=dag_id, run_id=f"check__{dag_id}__{state}", run_type=run_type, state=state)
        run.start_date, run.end_date = now - timedelta(seconds=seconds), now
        run._emit_duration_stats_for_finished_state()

    from airflow.sdk.configuration import conf as sdk_conf
    from airflow.sdk.observability import stats as sdk_stats
    from airflow.sdk.observability.metrics import stats_utils as sdk_stats_utils

    sdk_stats.initialize(
        factory=sdk_stats_utils.get_stats_factory(),
        export_legacy_names=sdk_conf.getboolean("metrics", "legacy_names_on"),
    )
    from mlops_common import report_training_success

    report_training_success("train")

    from airflow.sdk._shared.observability.metrics import stats as sdk_stats_impl

    backends = {"scheduler": type(core_stats._get_backend()).__name__, "task": type(sdk_stats_impl._get_backend()).__name__}
    print(json.dumps({"dag_runs": [[d, s.value, t] for d, _, s, t in runs], "gauge": "train", "backends": backends}))
    # StatsD is UDP without replies: a backend that fell back to NoStatsLogger (the `statsd`
    # package missing, an unresolvable host) sends nothing and only logs it.
    return 0 if set(backends.values()) == {"SafeStatsdLogger"} else 3


if __name__ == "__main__":
    sys.exit(main())
