"""The end-to-end platform as local processes: PostgreSQL, MinIO (+ bucket by `mc`), an
MLflow server (Postgres backend, artifacts proxied to MinIO), the data API, Airflow's
metadata database. Every port is picked free; every credential is generated."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .servers import DataApiServer, Postgres, free_port, start_postgres

REPO = Path(__file__).resolve().parents[3]


def _required_dir(var: str, what: str) -> Path:
    value = os.environ.get(var)
    if not value or not Path(value).is_dir():
        raise RuntimeError(f"${var} must name {what} (scripts/test.d/50-pipeline.sh sets it); got {value!r}")
    return Path(value)


def wait_http(url: str, what: str, proc: subprocess.Popen | None, log: Path | None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:] if log else ''}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready at {url} after {timeout}s:\n{log.read_text()[-3000:] if log else ''}")


@dataclass
class Platform:
    workdir: Path
    postgres: Postgres
    passwords: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    local_data_api: DataApiServer | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        return proc, log

    def stop(self) -> None:
        # Each process leads its own session (start_new_session): signal the whole group, or
        # what it spawned outlives it (`mlflow server` runs uvicorn as a child, which stayed
        # listening after every run before this).
        for _, proc in reversed(self.procs):
            _signal_group(proc, signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)
        if self.local_data_api:
            self.local_data_api.__exit__(None, None, None)
        self.postgres.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def db_params(self) -> dict[str, Any]:
        return self.postgres.params(dbname="mlops", user="mlops", password=self.passwords["mlops"])


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass  # the whole group is gone


def start_platform(*, batches: int, batch_size: int) -> Platform:
    workdir = Path(tempfile.mkdtemp(prefix="mlops-e2e-"))
    t0 = time.monotonic()
    pg = start_postgres()
    passwords = {name: secrets.token_hex(12) for name in ("mlops", "mlflow", "airflow", "minio")}
    plat = Platform(workdir, pg, passwords)
    try:
        for name in ("mlops", "mlflow", "airflow"):
            pg.create_database(name, passwords[name])
        plat.timings["postgres"] = time.monotonic() - t0
        _start_minio(plat)
        _start_mlflow(plat)
        _start_data_api(plat, batches=batches, batch_size=batch_size)
        return plat
    except BaseException:
        plat.stop()
        raise


def _start_minio(plat: Platform) -> None:
    t0 = time.monotonic()
    bin_dir = _required_dir("MINIO_BIN_DIR", "the folder holding `minio` and `mc` (tools/minio/build.sh)")
    port, console = free_port(), free_port()
    env = {**os.environ, "MINIO_ROOT_USER": "e2e-admin", "MINIO_ROOT_PASSWORD": plat.passwords["minio"],
           "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"}
    proc, log = plat.start("minio", [str(bin_dir / "minio"), "server", str(plat.workdir / "minio-data"),
                                     "--address", f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{console}",
                                     "--quiet"], env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/minio/health/live", "MinIO", proc, log)
    mc_env = {**os.environ, "MC_CONFIG_DIR": str(plat.workdir / "mc")}
    for args in (["alias", "set", "local", url, "e2e-admin", plat.passwords["minio"]], ["mb", "--ignore-existing", "local/mlflow"]):
        done = subprocess.run([str(bin_dir / "mc"), "--quiet", *args], env=mc_env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mc {args[0]} failed: {done.stderr or done.stdout}")
    plat.urls["minio"] = url
    plat.timings["minio"] = time.monotonic() - t0


def _start_mlflow(plat: Platform) -> None:
    t0 = time.monotonic()
    venv = _required_dir("MLFLOW_VENV", "the mlflow server venv (tools/python/venv.sh mlflow)")
    port = free_port()
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": plat.urls["minio"], "AWS_ACCESS_KEY_ID": "e2e-admin",
           "AWS_SECRET_ACCESS_KEY": plat.passwords["minio"], "AWS_DEFAULT_REGION": "us-east-1"}
    backend = plat.postgres.url("mlflow", user="mlflow", password=plat.passwords["mlflow"])
    proc, log = plat.start("mlflow", [str(venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
                                      "--backend-store-uri", backend, "--artifacts-destination", "s3://mlflow",
                                      "--serve-artifacts", "--workers", "1"], env)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", "MLflow", proc, log, timeout=180)
    plat.urls["mlflow"] = url
    plat.timings["mlflow"] = time.monotonic() - t0


def _start_data_api(plat: Platform, *, batches: int, batch_size: int) -> None:
    t0 = time.monotonic()
    server_js = REPO / "services" / "data-api" / "dist" / "server.js"
    if os.environ.get("MLOPS_E2E_DATA_API", "real") == "local":
        plat.local_data_api = DataApiServer(batches=batches, batch_size=batch_size).__enter__()
        plat.urls["data_api"] = plat.local_data_api.url
        plat.urls["data_api_kind"] = "local contract server (dags/tests/support/servers.py)"
    else:
        if not server_js.is_file():
            raise RuntimeError(f"{server_js} missing: build the data API (npm run build -w services/data-api) "
                               "or set MLOPS_E2E_DATA_API=local")
        port = free_port()
        env = {**os.environ, "DATA_API_HOST": "127.0.0.1", "DATA_API_PORT": str(port),
               "DATA_API_BATCHES": str(batches), "DATA_API_BATCH_SIZE": str(batch_size),
               "DATA_API_INTERVAL_SECONDS": "0", "DATA_API_LOG_LEVEL": "warn",
               # The platform's default backend: counters in database `mlops`, beside the pipeline's
               # and the model API's tables, each owner with its own version table.
               "DATA_API_STATE_BACKEND": "postgres",
               "DATA_API_DATABASE_URL": plat.postgres.url("mlops", user="mlops", password=plat.passwords["mlops"])}
        proc, log = plat.start("data-api", ["node", str(server_js)], env, cwd=server_js.parent.parent)
        plat.urls["data_api"] = f"http://127.0.0.1:{port}"
        plat.urls["data_api_kind"] = "services/data-api"
        wait_http(f"{plat.urls['data_api']}/health", "data API", proc, log)
    plat.timings["data_api"] = time.monotonic() - t0


def airflow_env(plat: Platform, *, min_new_rows: int, model_api_url: str | None = None) -> dict[str, str]:
    """The environment components/airflow.ts gives the DAG processes, pointed at local services."""
    home = plat.workdir / "airflow-home"
    home.mkdir(exist_ok=True)
    mlops = plat.postgres.url("mlops", user="mlops", password=plat.passwords["mlops"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
            plat.postgres.url("airflow", user="airflow", password=plat.passwords["airflow"]).replace(
                "postgresql://", "postgresql+psycopg2://"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_MLOPS_DB": mlops,
        "MLFLOW_TRACKING_URI": plat.urls["mlflow"],
        "DATA_API_URL": plat.urls["data_api"],
        "MLOPS_GROUP_NUMBER": "1",
        "MLOPS_DATA_DAY": "Tuesday",
        "MLOPS_MIN_NEW_ROWS": str(min_new_rows),
        "MLOPS_DRIFT_MIN_ROWS": "200",
        "PYTHONPATH": str(REPO / "dags"),
    })
    if model_api_url:
        env["MODEL_API_URL"] = model_api_url
    return env


def airflow(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "airflow"
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout)
