#!/usr/bin/env bash
# Monitoring as data, checked by real Prometheus tooling (Debian's prometheus package):
#   1. promtool check rules  config/monitoring/alerts.yml
#   2. promtool test rules   config/monitoring/alerts.test.yml (each alert fires / stays quiet)
#   3. statsd_exporter --check-config on config/monitoring/statsd/mapping.yml (the exporter
#      built from its Go module at the image's version, tools/statsd-exporter/build.sh)
#   4. tests/monitoring/*.check.ts: promtool check config on the component's rendered
#      prometheus.yml, then a real Prometheus scraping the real model-api (serving a real ONNX
#      fixture model, and one without a model) and data-api through the component's relabel
#      rules; every alert expression returns exactly the series it should, every dashboard
#      expression parses and returns data. Airflow's metrics come from the pinned Airflow
#      (its own StatsD client, the env the component renders) through the real exporter.
# Processes run on free loopback ports and are stopped on exit. Fails loudly if a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
export ONNXRUNTIME_NODE_INSTALL=skip
t0=$(date +%s)
took() { echo "--- monitoring: $1 took $(( $(date +%s) - $2 ))s"; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  t=$(date +%s)
  apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  took "apt-get install prometheus" "$t"
fi
for tool in promtool prometheus python3 go; do
  command -v "$tool" >/dev/null || { echo "monitoring: '$tool' is required and missing" >&2; exit 2; }
done
echo "monitoring: $(prometheus --version 2>&1 | head -n1)"
if [ ! -d node_modules/fastify ] || [ ! -d node_modules/onnxruntime-node ] || [ ! -d node_modules/vitest ]; then
  t=$(date +%s); npm ci --no-audit --no-fund; took "npm ci" "$t"
fi

pids_file="$(mktemp)"
cleanup() {
  # Children the check started, by process group, in case vitest itself died before its afterAll.
  while read -r pid; do [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true; done < "$pids_file"
  rm -f "$pids_file"
}
trap cleanup EXIT

t=$(date +%s)
promtool check rules config/monitoring/alerts.yml
(cd config/monitoring && promtool test rules alerts.test.yml)
took "promtool check + test rules" "$t"

t=$(date +%s)
statsd_dir="$(tools/statsd-exporter/build.sh)"
"$statsd_dir/statsd_exporter" --check-config --log.level=warn --statsd.mapping-config=config/monitoring/statsd/mapping.yml
airflow_venv="$(tools/python/venv.sh airflow)"
took "statsd exporter + mapping check + Airflow venv" "$t"

# The fixture model of the model-api tests (same generator, same cache key as its global setup).
t=$(date +%s)
pipeline_venv="$(tools/python/venv.sh pipeline)"
gen=services/model-api/test/fixtures/make_model.py
key="$(cat "$gen" config/feature-spec.example.json dags/requirements.txt | sha256sum | cut -c1-12)"
model_dir="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/model-api-fixtures/$key/v1"
if [ ! -f "$model_dir/.complete" ]; then
  "$pipeline_venv/bin/python" "$gen" --out "$model_dir" --seed 1 --trees 30
  touch "$model_dir/.complete"
fi
took "fixture model" "$t"

t=$(date +%s)
npm run --silent build -w services/model-api
npm run --silent build -w services/data-api
took "build model-api + data-api" "$t"

t=$(date +%s)
MONITORING_MODEL_DIR="$model_dir" MONITORING_PIDS="$pids_file" MONITORING_STATSD_EXPORTER="$statsd_dir" MONITORING_AIRFLOW_VENV="$airflow_venv" npx vitest run -c tests/monitoring/vitest.config.mts
took "real Prometheus check" "$t"
took "total" "$t0"
