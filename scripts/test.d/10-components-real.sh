#!/usr/bin/env bash
# The MLflow and Airflow objects the program renders, checked against the real programs:
# the pinned MLflow and Airflow (the images' own pin files), a throw-away PostgreSQL and a
# MinIO built from its Go module; the backup and restore pods step by step with the operator side
# of `npm run backup`/`restore`. See tests/real/*.test.ts. Fails loudly if a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
took() { echo "--- components-real: $1 took $(( $(date +%s) - $2 ))s"; }

if ! { command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; }; then
  t=$(date +%s)
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  took "apt-get install postgresql" "$t"
fi
command -v go >/dev/null || { echo "components-real: the Go toolchain is required to build MinIO" >&2; exit 2; }
[ -d node_modules/vitest ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund

# Build (or reuse) everything first, so the tests' own timings are about the tests.
for v in mlflow airflow; do
  t=$(date +%s); bash tools/python/venv.sh "$v" >/dev/null; took "venv $v" "$t"
done
t=$(date +%s); bash tools/minio/build.sh >/dev/null; took "minio build" "$t"

npx vitest run -c vitest.real.config.mts
