#!/usr/bin/env bash
# services/model-api: type check, build, then vitest: the shared listing vectors, serving a
# real ONNX fixture model (generated here from scikit-learn with skl2onnx) with sklearn parity,
# bad input (tables + fast-check), a real MLflow registry (alias moves under load, MLflow
# stopped), the Postgres inference log against a real throw-away PostgreSQL, and the built
# server as a process (SIGTERM). Servers run on free loopback ports and stop on exit.
# The benchmark is separate: `npm run bench -w services/model-api`.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
export ONNXRUNTIME_NODE_INSTALL=skip
t0=$(date +%s)
took() { echo "--- model-api: $1 took $(( $(date +%s) - $2 ))s"; }

missing=()
{ command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; } || missing+=(postgresql)
command -v runuser >/dev/null || missing+=(util-linux)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  t=$(date +%s)
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  took "apt-get install ${missing[*]}" "$t"
fi
PG_BIN="$(pg_config --bindir)"; export PG_BIN
if [ ! -d node_modules/fastify ] || [ ! -d node_modules/onnxruntime-node ]; then
  t=$(date +%s)
  npm ci --no-audit --no-fund
  took "npm ci" "$t"
fi

# Venvs: `pipeline` generates the fixture models (scikit-learn -> ONNX), `mlflow`
# runs the MLflow server. Built once, cached outside the clone (test/global-setup.ts reuses them).
t=$(date +%s)
tools/python/venv.sh pipeline >/dev/null
tools/python/venv.sh mlflow >/dev/null
took "python venvs (pipeline, mlflow)" "$t"

t=$(date +%s)
npx tsc --noEmit -p services/model-api/tsconfig.json
npm run --silent build -w services/model-api
took "type check + build" "$t"

t=$(date +%s)
MODEL_API_TEST_LOGS="$(mktemp -d)"; export MODEL_API_TEST_LOGS
trap 'rm -rf "$MODEL_API_TEST_LOGS"' EXIT
if ! (cd services/model-api && npx vitest run --reporter=default); then
  echo "model-api: tests failed; server logs:" >&2
  tail -n 40 "$MODEL_API_TEST_LOGS"/*.log >&2 || true
  exit 1
fi
took "vitest" "$t"
took "total" "$t0"
