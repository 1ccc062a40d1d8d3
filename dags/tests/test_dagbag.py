"""The DAG files as Airflow parses them: no import errors, the expected DAGs, tasks, edges, retries."""
import ast
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dagbag():
    # AIRFLOW_HOME points at a temp dir (conftest.py) before airflow is first imported.
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors_and_exactly_the_pipeline_dags(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == ["ingest", "train"]


def edges(dag):
    return sorted((up, task.task_id) for task in dag.tasks for up in task.upstream_task_ids)


def test_ingest_tasks_edges_and_retries(dagbag):
    dag = dagbag.dags["ingest"]
    assert sorted(dag.task_ids) == ["ensure_schema", "fetch_batch"]
    assert edges(dag) == [("ensure_schema", "fetch_batch")]
    assert [o.name for o in dag.get_task("fetch_batch").outlets] == ["mlops_raw_listings"]
    assert dag.max_active_runs == 1 and dag.catchup is False


def test_train_tasks_edges_schedule_and_retries(dagbag):
    dag = dagbag.dags["train"]
    assert sorted(dag.task_ids) == ["clean_new_rows", "decide", "promote", "train_and_register"]
    assert edges(dag) == [("clean_new_rows", "decide"), ("decide", "train_and_register"),
                          ("train_and_register", "promote")]
    # Scheduled by the asset that ingest emits, and by nothing else.
    assets = dag.timetable.asset_condition.objects
    assert [(a.name, a.uri) for a in assets] == [("mlops_raw_listings", "mlops://raw/listings")]


@pytest.mark.parametrize("dag_id", ["ingest", "train"])
def test_starts_unpaused(dagbag, dag_id):
    # `pulumi up` is the whole install: nobody has to unpause the loop in the UI.
    assert dagbag.dags[dag_id].is_paused_upon_creation is False


def test_promote_reports_the_training_to_monitoring():
    # The gauge behind "Last successful training" and TrainingPipelineStale, sent after promote_step.
    tree = ast.parse((DAGS / "train.py").read_text())
    promote = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "promote")
    calls = [n.func.id for n in ast.walk(promote) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert calls.index("report_training_success") > calls.index("promote_step")


@pytest.mark.parametrize("dag_id", ["ingest", "train"])
def test_every_task_retries(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        assert task.retries == 2, task.task_id


def test_include_knows_nothing_of_airflow():
    for path in (DAGS / "include").glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] == "airflow"], path.name


def test_dag_files_have_no_heavy_top_level_imports():
    for path in ("ingest.py", "train.py", "mlops_common.py"):
        tree = ast.parse((DAGS / path).read_text())
        top = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        top += [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]
        heavy = {"sklearn", "pandas", "numpy", "mlflow", "onnx", "onnxruntime", "skl2onnx", "psycopg2", "include"}
        assert not [m for m in top if m.split(".")[0] in heavy], path
