"""The loop on real services: Postgres, MinIO, MLflow (Postgres backend, artifacts proxied
to MinIO), the data API, and Airflow running the DAGs with `airflow dags test`.

    ingest b1 -> train (no production: train, promote v1)
    ingest b2 -> train (few new rows, no drift: decision recorded, no training)
    ingest b3 -> train (enough new rows: train v2, compare with v1 on the same test split)
    ingest    -> 400 from the data API: run skipped, not failed
    restart the data API's counter, ingest b1 again -> nothing added
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import psycopg2
import pytest
import requests

from include import db, model
from include.listing import clean_listing
from include.steps import read_clean
from tests.support.platform import airflow, airflow_env, start_platform

pytestmark = pytest.mark.e2e

BATCHES, BATCH_SIZE, MIN_NEW_ROWS = 3, 1500, 2500
# The two payloads users of the old FastAPI server sent (design.md), without price.
LEGACY = [
    {"brokered_by": 101, "status": "for sale", "bed": 3, "bath": 2, "acre_lot": 0.25, "street": "123 elm st",
     "city": "springfield", "state": "illinois", "zip_code": "62704", "house_size": 1500, "prev_sold_date": "2022-03-15"},
    {"brokered_by": 55, "status": "for sale", "bed": 4, "bath": 3, "acre_lot": 0.4, "street": "456 oak ave",
     "city": "shelbyville", "state": "illinois", "zip_code": "62565", "house_size": 1800, "prev_sold_date": "2023-01-22"},
]


@pytest.fixture(scope="module")
def loop():
    t0 = time.monotonic()
    plat = start_platform(batches=BATCHES, batch_size=BATCH_SIZE)
    env = airflow_env(plat, min_new_rows=MIN_NEW_ROWS)
    t = time.monotonic()
    migrated = airflow(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    plat.timings["airflow_db_migrate"] = time.monotonic() - t
    plat.timings["platform_start"] = time.monotonic() - t0
    print(f"\nplatform up: {json.dumps({k: round(v, 1) for k, v in plat.timings.items()})}; "
          f"data API: {plat.urls['data_api_kind']}")
    os.environ["MLFLOW_TRACKING_URI"] = plat.urls["mlflow"]
    yield plat, env
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    plat.stop()


def run_dag(plat, env, dag_id: str) -> dict[str, str]:
    """`airflow dags test DAG`; returns {task_id: state} of that run from Airflow's database."""
    t = time.monotonic()
    done = airflow(env, "dags", "test", dag_id)
    elapsed = time.monotonic() - t
    log = (done.stdout + done.stderr)[-6000:]
    conn = psycopg2.connect(**plat.postgres.params("airflow", "airflow", plat.passwords["airflow"]))
    with conn, conn.cursor() as cur:
        cur.execute("SELECT run_id FROM dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1", (dag_id,))
        run_id = cur.fetchone()[0]
        cur.execute("SELECT task_id, state FROM task_instance WHERE dag_id = %s AND run_id = %s", (dag_id, run_id))
        states = dict(cur.fetchall())
    conn.close()
    print(f"airflow dags test {dag_id}: {states} in {elapsed:.1f}s")
    assert done.returncode == 0, log
    assert "failed" not in states.values() and "upstream_failed" not in states.values(), log
    return states


def q(plat, sql, *args):
    with db.connect(plat.db_params()) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def mlflow_get(plat, path, **params):
    response = requests.get(f"{plat.urls['mlflow']}/api/2.0/mlflow/{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_loop(loop):
    plat, env = loop

    # 1. first batch; no production model yet -> train and promote v1
    assert run_dag(plat, env, "ingest") == {"ensure_schema": "success", "fetch_batch": "success"}
    assert q(plat, "SELECT count(*) FROM raw.listings") == [(BATCH_SIZE,)]
    assert run_dag(plat, env, "train") == {"clean_new_rows": "success", "decide": "success",
                                           "train_and_register": "success", "promote": "success"}
    (clean_rows,), (rejected,) = q(plat, "SELECT count(*) FROM clean.listings")[0], q(plat, "SELECT count(*) FROM clean.rejected_listings")[0]
    assert clean_rows + rejected == BATCH_SIZE and rejected > 0
    reasons = q(plat, "SELECT reasons FROM clean.cleaning_log ORDER BY id DESC LIMIT 1")[0][0]
    assert sum(v for k, v in reasons.items() if not k.startswith("nulled_")) == rejected
    assert q(plat, "SELECT train, reason FROM clean.training_decisions") == [(True, "no_production_model")]
    alias = mlflow_get(plat, "registered-models/alias", name="realtor-price", alias="production")
    assert alias["model_version"]["version"] == "1"

    # 2. second batch: 1500 new rows < 2500 and the same distribution -> no training
    assert run_dag(plat, env, "ingest")["fetch_batch"] == "success"
    states = run_dag(plat, env, "train")
    assert (states["train_and_register"], states["promote"]) == ("skipped", "skipped")
    train, reason, new_rows, psi = q(plat, "SELECT train, reason, new_rows, psi FROM clean.training_decisions ORDER BY id DESC LIMIT 1")[0]
    assert train is False and reason.startswith("not_warranted") and new_rows > 1000
    assert set(psi) == {"price", "house_size", "bed", "bath", "acre_lot"} and max(psi.values()) < 0.2

    # 3. third batch: 3000 rows since the last training -> train v2, compare with v1
    assert run_dag(plat, env, "ingest")["fetch_batch"] == "success"
    assert run_dag(plat, env, "train")["promote"] == "success"
    decisions = q(plat, "SELECT train, reason, trained_version FROM clean.training_decisions ORDER BY id")
    assert [d[0] for d in decisions] == [True, False, True] and decisions[2][1].startswith("new_rows")
    assert [d[2] for d in decisions] == ["1", None, "2"]
    history = q(plat, "SELECT candidate_version, production_version, candidate_value, production_value, promoted, test_rows "
                      "FROM clean.model_history ORDER BY id")
    assert [(h[0], h[1]) for h in history] == [("1", None), ("2", "1")]
    assert history[0][4] is True and history[1][3] is not None
    assert history[1][4] == (history[1][2] < history[1][3])
    expected_production = "2" if history[1][4] else "1"
    alias = mlflow_get(plat, "registered-models/alias", name="realtor-price", alias="production")
    assert alias["model_version"]["version"] == expected_production

    # 4. every batch served: the data API's 400 skips the run
    assert run_dag(plat, env, "ingest")["fetch_batch"] == "skipped"
    assert q(plat, "SELECT outcome FROM raw.ingest_log ORDER BY id DESC LIMIT 1") == [("no_more_data",)]

    # 5. the same batch again (counter restarted): nothing added
    reset = requests.get(f"{plat.urls['data_api']}/restart_data_generation",
                         params={"group_number": 1, "day": "Tuesday"}, timeout=10)
    assert reset.status_code == 200
    assert run_dag(plat, env, "ingest")["fetch_batch"] == "skipped"
    assert q(plat, "SELECT count(*), count(DISTINCT (group_number, day, batch_number, row_in_batch)) FROM raw.listings") == [
        (BATCHES * BATCH_SIZE, BATCHES * BATCH_SIZE)]
    assert q(plat, "SELECT batch_number, inserted, duplicates FROM raw.ingest_log ORDER BY id DESC LIMIT 1") == [
        (1, 0, BATCH_SIZE)]


def test_registered_versions_hold_onnx_and_feature_spec(loop):
    plat, _ = loop
    versions = mlflow_get(plat, "model-versions/search", filter="name='realtor-price'")["model_versions"]
    assert sorted(v["version"] for v in versions) == ["1", "2"]
    example = json.loads((Path(__file__).resolve().parents[3] / "config" / "feature-spec.example.json").read_text())
    for v in versions:
        # What the model API does: the version's download URI, then the artifact proxy.
        uri = mlflow_get(plat, "model-versions/get-download-uri", name="realtor-price", version=v["version"])["artifact_uri"]
        assert uri.startswith("mlflow-artifacts:/"), uri
        path = uri[len("mlflow-artifacts:/"):].lstrip("/")
        listing = requests.get(f"{plat.urls['mlflow']}/api/2.0/mlflow-artifacts/artifacts", params={"path": path}, timeout=30)
        names = {f["path"] for f in listing.json()["files"]}
        assert {"model.onnx", "feature_spec.json", "MLmodel"} <= names, names
        spec = requests.get(f"{plat.urls['mlflow']}/api/2.0/mlflow-artifacts/artifacts/{path}/feature_spec.json", timeout=30).json()
        assert spec == {k: val for k, val in example.items() if not k.startswith("$")}
        run = mlflow_get(plat, "runs/get", run_id=v["run_id"])["run"]
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        assert {"mae", "rmse", "r2", "mape", "baseline_mae", "onnx_parity_max_rel"} <= set(metrics)
        if v["version"] == "2":  # v1 saw ~1.2k rows; the claim is checked where data suffices
            assert metrics["mae"] < metrics["baseline_mae"], metrics
        print(f"v{v['version']}: mae {metrics['mae']:.0f} (baseline GammaRegressor {metrics['baseline_mae']:.0f}), "
              f"r2 {metrics['r2']:.3f}, train {metrics['train_seconds']:.1f}s, parity {metrics['onnx_parity_max_rel']:.1e}")
    # The bucket behind the proxy holds the objects (MinIO, not a local directory).
    assert any((plat.workdir / "minio-data" / "mlflow").rglob("model.onnx*"))


def test_production_onnx_matches_its_sklearn_model(loop):
    import mlflow
    import mlflow.sklearn

    from include.registry import load_onnx_version, production_version

    plat, _ = loop
    version = production_version("realtor-price")
    onnx_model = load_onnx_version("realtor-price", version)
    run_id = mlflow_get(plat, "model-versions/get", name="realtor-price", version=version)["model_version"]["run_id"]
    experiment_id = mlflow_get(plat, "runs/get", run_id=run_id)["run"]["info"]["experiment_id"]
    logged = [m for m in mlflow.search_logged_models(experiment_ids=[experiment_id],
                                                     filter_string=f"source_run_id = '{run_id}'", output_format="list")
              if m.name == "sklearn-model"]
    assert len(logged) == 1
    sk = mlflow.sklearn.load_model(logged[0].model_uri)
    with db.connect(plat.db_params()) as conn:
        test = read_clean(conn, split="test")
    legacy = [clean_listing({**p, "price": 1}, date.today())[0] for p in LEGACY]
    import pandas as pd

    frame = pd.concat([test, pd.DataFrame(legacy)], ignore_index=True)
    x = model.features_frame(frame, onnx_model.spec)
    sk_price = np.expm1(sk.predict(x))
    onnx_price = onnx_model.predict_price(x)
    rel = np.abs(onnx_price - sk_price) / sk_price
    print(f"production v{version}: {len(x)} rows, max relative ONNX-vs-sklearn difference {rel.max():.2e}; "
          f"legacy payload prices {onnx_price[-2:].round(0).tolist()}")
    assert rel.max() <= 1e-4
    assert np.all(onnx_price[-2:] > 10_000)


def test_model_api_serves_the_promoted_version_with_sklearn_prices(loop):
    """services/model-api, started against this MLflow, resolves `production`, downloads the
    ONNX model through the artifact proxy and answers /predict with the sklearn model's prices."""
    import mlflow
    import mlflow.sklearn
    import pandas as pd

    from include.registry import production_version
    from tests.support.platform import wait_http
    from tests.support.servers import free_port

    plat, _ = loop
    server_js = Path(__file__).resolve().parents[3] / "services" / "model-api" / "dist" / "src" / "server.js"
    assert server_js.is_file(), f"{server_js} missing: build it (npm run build -w services/model-api)"
    port = free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "MLFLOW_TRACKING_URI": plat.urls["mlflow"],
           "MODEL_POLL_INTERVAL_SECONDS": "0",
           "DATABASE_URL": plat.postgres.url("mlops", user="mlops", password=plat.passwords["mlops"])}
    proc, log = plat.start("model-api", ["node", str(server_js)], env, cwd=server_js.parents[2])
    wait_http(f"http://127.0.0.1:{port}/ready", "model API", proc, log, timeout=180)
    base = f"http://127.0.0.1:{port}"

    version = production_version("realtor-price")
    served = requests.get(f"{base}/model", timeout=10).json()
    assert str(served["version"]) == str(version), served

    run_id = mlflow_get(plat, "model-versions/get", name="realtor-price", version=version)["model_version"]["run_id"]
    experiment_id = mlflow_get(plat, "runs/get", run_id=run_id)["run"]["info"]["experiment_id"]
    logged = [m for m in mlflow.search_logged_models(experiment_ids=[experiment_id],
                                                     filter_string=f"source_run_id = '{run_id}'", output_format="list")
              if m.name == "sklearn-model"]
    sk = mlflow.sklearn.load_model(logged[0].model_uri)

    # The old FastAPI payloads as users send them, plus held-out rows with every field present.
    with db.connect(plat.db_params()) as conn:
        test = read_clean(conn, split="test")
    fields = ["brokered_by", "status", "bed", "bath", "acre_lot", "street", "city", "state", "zip_code",
              "house_size", "prev_sold_date"]
    rows = test.dropna(subset=fields).head(50)
    payloads = list(LEGACY) + [
        {f: (v.isoformat() if hasattr(v, "isoformat") else (v.item() if hasattr(v, "item") else v))
         for f, v in row.items() if f in fields}
        for _, row in rows.iterrows()
    ]
    response = requests.post(f"{base}/predict", json={"instances": payloads}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert str(body["model"]["version"]) == str(version)
    api_prices = np.array(body["prices"], dtype=float)

    from include.registry import load_onnx_version
    spec = load_onnx_version("realtor-price", version).spec
    legacy = [clean_listing({**p, "price": 1}, date.today())[0] for p in LEGACY]
    frame = pd.concat([pd.DataFrame(legacy), rows], ignore_index=True)
    sk_prices = np.expm1(sk.predict(model.features_frame(frame, spec)))
    rel = np.abs(api_prices - sk_prices) / sk_prices
    print(f"model API v{version}: {len(payloads)} rows, max relative API-vs-sklearn difference {rel.max():.2e}")
    assert rel.max() <= 1e-4

    # Database `mlops` holds three owners' tables, each migrated by its own tool into its own
    # version table: the pipeline (Alembic, by the ingest DAG), the data API and the model API
    # (node-pg-migrate, before their first writes). The inference log names the bytes that answered.
    assert q(plat, f"SELECT version_num FROM {db.VERSION_TABLE}") == [("0001",)]
    assert q(plat, "SELECT name FROM data_api_migrations ORDER BY id") == [("0001_batch-state",)]
    registered = mlflow_get(plat, "model-versions/get", name="realtor-price", version=version)["model_version"]["tags"]
    sha = next(t["value"] for t in registered if t["key"] == "model_sha256")

    def logged():
        return (q(plat, "SELECT to_regclass('serving.inference_log') IS NOT NULL")[0][0]
                and q(plat, "SELECT count(*) FROM serving.inference_log")[0][0] > 0)

    deadline = time.monotonic() + 30
    while not logged():
        assert time.monotonic() < deadline, "no inference log row within 30 s"
        time.sleep(0.5)
    assert q(plat, "SELECT name FROM serving.model_api_migrations ORDER BY id") == [("0001_inference-log",), ("0002_model-sha256",)]
    assert q(plat, "SELECT DISTINCT model_version, model_sha256 FROM serving.inference_log") == [(str(version), sha)]
