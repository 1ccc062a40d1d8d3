#!/usr/bin/env bash
# The model API benchmark (not a test): the same fixture model served by the old way
# (FastAPI + uvicorn + the pickled scikit-learn pipeline, bench/baseline/) and by this API
# (built dist/, ONNX), loaded in one run by autocannon at concurrency 1, 8 and 32 with single
# and 100-row batch requests. Prints requests/s, p50 and p99 side by side with the ratios.
#   npm run bench -w services/model-api          (BENCH_DURATION=10 seconds per cell)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
export ONNXRUNTIME_NODE_INSTALL=skip

BENCH_VENV="$(tools/python/venv.sh bench)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$BENCH_VENV/bin/python" services/model-api/test/fixtures/make_model.py --out "$work/model" --seed 1 --trees 30
npm run --silent build -w services/model-api

free_port() { "$BENCH_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
bport="$(free_port)"; aport="$(free_port)"

(cd "$here/baseline" && MODEL_DIR="$work/model" exec "$BENCH_VENV/bin/uvicorn" app:app --host 127.0.0.1 --port "$bport" \
  --log-level warning --no-access-log) > "$work/baseline.log" 2>&1 &
pids+=($!)
MODEL_PATH="$work/model" HOST=127.0.0.1 PORT="$aport" LOG_LEVEL=warn \
  node services/model-api/dist/src/server.js > "$work/api.log" 2>&1 &
pids+=($!)

for url in "http://127.0.0.1:$bport/health" "http://127.0.0.1:$aport/ready"; do
  for _ in $(seq 1 120); do curl -sf "$url" >/dev/null && break; sleep 0.5; done
  curl -sf "$url" >/dev/null || { echo "bench: $url did not come up" >&2; cat "$work"/*.log >&2; exit 1; }
done

mkdir -p "$here/results"
node "$here/bench.js" --baseline "http://127.0.0.1:$bport" --api "http://127.0.0.1:$aport" \
  --duration "${BENCH_DURATION:-10}" --out "$here/results/latest.json"
