#!/usr/bin/env bash
# services/ui: type check, build (server + Vite bundle), then the end-to-end test in headless
# Debian Chromium (playwright-core) against real servers started on free loopback ports: MLflow
# (venv tools/python/mlflow.txt), the built data API process, the UI server process, and the
# built services/model-api serving the production version of a real ONNX model registered in that
# MLflow. UI_E2E_MODEL_API=stand-in uses test/support/model-api-standin.ts instead.
# Screenshots land in test-results/ui/; UPDATE_UI_SCREENSHOTS=1 also refreshes services/ui/docs/.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
t0=$(date +%s)
# Server process groups the test starts are listed here; stop any still running on exit.
UI_TEST_PIDFILE="$(mktemp -t ui-test-pids.XXXXXX)"
export UI_TEST_PIDFILE
cleanup() {
  while read -r pid; do
    # a group (the server and what it forked) that still has members
    [ -n "$pid" ] && pgrep -g "$pid" >/dev/null 2>&1 && kill -KILL -- "-$pid" 2>/dev/null || true
  done < "$UI_TEST_PIDFILE"
  rm -f "$UI_TEST_PIDFILE"
}
trap cleanup EXIT
took() { echo "--- ui: $1 took $(( $(date +%s) - $2 ))s"; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Without a font package Chromium renders every glyph as a box in the screenshots.
fc-list 2>/dev/null | grep -qi liberation || missing+=(fonts-liberation)
if [ ${#missing[@]} -gt 0 ]; then
  t=$(date +%s)
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  took "apt-get install ${missing[*]}" "$t"
fi
if [ ! -d node_modules/playwright-core ]; then
  t=$(date +%s)
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  took "npm ci" "$t"
fi

t=$(date +%s)
MLFLOW_VENV="$(bash tools/python/venv.sh mlflow)"
export MLFLOW_VENV
export UI_E2E_MODEL_API="${UI_E2E_MODEL_API:-real}"
# The real model API's fixture model is made with the training pipeline's venv.
[ "$UI_E2E_MODEL_API" = real ] && bash tools/python/venv.sh pipeline >/dev/null
took "Python venvs (mlflow, pipeline)" "$t"

t=$(date +%s)
npx tsc --noEmit -p services/ui/tsconfig.json
npx tsc --noEmit -p services/ui/tsconfig.web.json
npm run --silent build -w services/data-api
npm run --silent build -w services/ui
[ "$UI_E2E_MODEL_API" = real ] && npm run --silent build -w services/model-api
took "type check + build (data-api, ui server, ui bundle, model-api)" "$t"
echo "ui bundle: $(du -cb services/ui/dist/web/assets/* | tail -1 | cut -f1) bytes ($(cat services/ui/dist/web/assets/*.js | gzip -c | wc -c) bytes gzipped JS)"

t=$(date +%s)
(cd services/ui && npx vitest run --reporter=default)
took "vitest (end to end)" "$t"
took "total" "$t0"
