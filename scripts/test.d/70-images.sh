#!/usr/bin/env bash
# The services' Dockerfiles, without a Docker engine (1 and 3: the Node ones, model-api, data-api, ui):
#   1. tests/images/contract.check.ts: each Dockerfile parsed by dockerfile-ast and linted by
#      dockerfile-utils; multi-stage, pinned FROMs, non-root numeric USER, node_modules from an
#      --omit=dev install (workspace-local ones included), lockfile before npm ci, exec-form CMD.
#   2. tests/images/python.check.ts: the Python images (airflow, mlflow) install exactly their hash
#      lock (pip --no-deps --require-hashes), every lock entry hashed and agreeing with the pin
#      files, the local bases and the test venvs held to the same versions (tools/python/lock.sh).
#   3. tests/images/rehearsal.check.ts: each Dockerfile rehearsed as plain processes (stage
#      filesystems as temp directories, RUN through sh with the npm Node 20's images ship), then
#      the final stage's CMD started as uid 1000 (setpriv) on a free loopback port: /health and
#      the service's probes must answer. A mutant without node_modules must fail to start.
# Runs as root (RUN lines chown, the CMD drops to the image's USER). Fails loudly if a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ONNXRUNTIME_NODE_INSTALL=skip
t0=$(date +%s)
took() { echo "--- images: $1 took $(( $(date +%s) - $2 ))s"; }

for tool in node npm setpriv git; do
  command -v "$tool" >/dev/null || { echo "images: '$tool' is required and missing" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "images: run as root (RUN lines chown; the CMD runs as the image's uid 1000 via setpriv)" >&2; exit 2; }
echo "images: node $(node --version), $(setpriv --version 2>&1 | head -n1)"
if [ ! -d node_modules/dockerfile-ast ] || [ ! -d node_modules/dockerfile-utils ] || [ ! -d node_modules/vitest ]; then
  t=$(date +%s); npm ci --no-audit --no-fund; took "npm ci" "$t"
fi

# RUN lines use the npm that Node 20 bundles (10.8.2 in its late releases; the image itself
# cannot be opened here), not the host's: install-script handling and tree placement follow
# it. Cached outside the clone, keyed by version.
IMAGE_NPM_VERSION=10.8.2
cache_root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
npm_dir="$cache_root/npm-$IMAGE_NPM_VERSION"
if [ ! -f "$npm_dir/.complete" ]; then
  t=$(date +%s)
  rm -rf "$npm_dir" && mkdir -p "$npm_dir"
  npm install --prefix "$npm_dir" --no-audit --no-fund --no-package-lock --no-save "npm@$IMAGE_NPM_VERSION" >/dev/null
  touch "$npm_dir/.complete"
  took "npm $IMAGE_NPM_VERSION for the RUN lines" "$t"
fi
[ "$(node "$npm_dir/node_modules/npm/bin/npm-cli.js" --version)" = "$IMAGE_NPM_VERSION" ] || { echo "images: $npm_dir holds no npm $IMAGE_NPM_VERSION" >&2; exit 2; }

pids_file="$(mktemp)"
cleanup() {
  # Services the rehearsal started, by process group, in case vitest died before stopping them.
  while read -r pid; do [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true; done < "$pids_file"
  rm -f "$pids_file"
}
trap cleanup EXIT

t=$(date +%s)
IMAGES_NPM_CLI="$npm_dir/node_modules/npm/bin/npm-cli.js" IMAGES_NPM_CACHE="$(npm config get cache)" IMAGES_PIDS="$pids_file" \
  npx vitest run -c tests/images/vitest.config.mts
took "Dockerfile contract + rehearsal" "$t"
took "total" "$t0"
