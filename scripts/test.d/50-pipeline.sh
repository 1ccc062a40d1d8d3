#!/usr/bin/env bash
# The ML pipeline (dags/): unit tests of dags/include against real Postgres and HTTP
# servers, the DagBag test, then the end-to-end loop on real services started here as
# local processes: PostgreSQL, MinIO (built from its Go module), an MLflow server
# (Postgres backend, artifacts proxied to MinIO), the data API (services/data-api) and
# Airflow 3 (`airflow dags test`). Self-sufficient on a fresh Debian machine as root.
#   MLOPS_PIPELINE_SKIP_E2E=1   unit + DagBag only (local iteration; CI runs everything)
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive

t0=$(date +%s)
took() { echo "--- $1 took $(( $(date +%s) - $2 ))s"; }

# System tools: PostgreSQL server binaries (initdb, pg_ctl), runuser, Go, Node.
missing=()
{ command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; } || missing+=(postgresql)
command -v runuser >/dev/null || missing+=(util-linux)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
PG_BIN="$(pg_config --bindir)"; export PG_BIN
command -v go >/dev/null || { echo "50-pipeline: the Go toolchain is required to build MinIO (go install)" >&2; exit 1; }
command -v node >/dev/null || { echo "50-pipeline: Node.js is required to run services/data-api" >&2; exit 1; }

t=$(date +%s)
AIRFLOW_VENV="$(tools/python/venv.sh airflow)"
MLFLOW_VENV="$(tools/python/venv.sh mlflow)"; export MLFLOW_VENV
took "python venvs (airflow, mlflow)" "$t"

# Airflow never touches ~/airflow: a throw-away home for every process below.
AIRFLOW_HOME="$(mktemp -d)"; export AIRFLOW_HOME
trap 'rm -rf "$AIRFLOW_HOME"' EXIT

cd dags
t=$(date +%s)
echo "=== unit tests (dags/include) and DagBag"
"$AIRFLOW_VENV/bin/python" -m pytest -q --ignore=tests/e2e tests
took "unit + DagBag" "$t"

if [ "${MLOPS_PIPELINE_SKIP_E2E:-0}" = "1" ] && [ "${CI:-}" != "true" ]; then
  echo "MLOPS_PIPELINE_SKIP_E2E=1: end-to-end loop not run"
  exit 0
fi
cd ..

t=$(date +%s)
MINIO_BIN_DIR="$(tools/minio/build.sh)"; export MINIO_BIN_DIR
took "MinIO build (cached after the first)" "$t"

t=$(date +%s)
[ -x node_modules/.bin/tsc ] || npm ci --no-audit --no-fund
npm run --silent build -w services/data-api
npm run --silent build -w services/model-api
took "data API + model API build" "$t"

t=$(date +%s)
echo "=== end-to-end loop"
cd dags
"$AIRFLOW_VENV/bin/python" -m pytest -q -s tests/e2e
took "end-to-end loop" "$t"
# The harness stops every server it started, children included (MLflow's uvicorn once
# outlived every run): anything of this run's venvs still running is a leak.
sleep 1
leaked="$(pgrep -af "$MLFLOW_VENV/bin/python|$AIRFLOW_VENV/bin/python|services/(model|data)-api/dist" | grep -v -e pgrep -e "^$$ " || true)"
if [ -n "$leaked" ]; then
  echo "50-pipeline: processes left running by the loop's harness:" >&2
  echo "$leaked" >&2
  exit 1
fi
took "50-pipeline total" "$t0"
