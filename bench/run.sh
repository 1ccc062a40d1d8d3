#!/usr/bin/env bash
# Deployment benchmark (issue 3): `pulumi up` of stack `ci` against the local control plane
# (scripts/control-plane-up.sh) whose kwok stages delay every workload's pods by a realistic
# image-pull + start + readiness time (bench/delays.mjs, bench/stages.mjs). Prints the wall
# time of `up` next to the critical path through the graph and the old guide's three manual
# waves (bench/analyze.mjs), then destroys the stack. A benchmark: prints, never asserts.
#
#   bash bench/run.sh          # ~5 min warm; MLOPS_BENCH_KEEP=1 keeps the temp dir (logs)
#
# It runs beside `npm run test:engine`: own temp dir and its own control-plane ports
# (override with the MLOPS_CP_*_PORT variables of scripts/control-plane-up.sh).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlops-bench.XXXXXX")"
export MLOPS_CP_DIR="$WORK/cp"
export MLOPS_CP_APISERVER_PORT="${MLOPS_CP_APISERVER_PORT:-16743}"
export MLOPS_CP_ETCD_PORT="${MLOPS_CP_ETCD_PORT:-24090}"
export MLOPS_CP_KCM_PORT="${MLOPS_CP_KCM_PORT:-20557}"
export MLOPS_CP_SCHEDULER_PORT="${MLOPS_CP_SCHEDULER_PORT:-20559}"
export MLOPS_CP_KWOK_PORT="${MLOPS_CP_KWOK_PORT:-20550}"

cleanup() {
  local rc=$?
  bash "$REPO/scripts/control-plane-down.sh" >/dev/null 2>&1 || true
  if [ "${MLOPS_BENCH_KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- toolchain (warm: instant) ------------------------------------------------------
bash tools/build-toolchain.sh >&2
eval "$(bash tools/build-toolchain.sh --print-env)"
BIN="$(bash tools/build-toolchain.sh --print-bin-dir)"
[ -d node_modules/@pulumi/pulumi ] || { echo "node_modules missing: run npm ci first" >&2; exit 2; }
# The dynamic-provider plugin the Pulumi distribution ships as a script (see scripts/test-engine.sh).
mkdir -p "$WORK/bin"
cat > "$WORK/bin/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
exec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider "$@"
SH
chmod +x "$WORK/bin/pulumi-resource-pulumi-nodejs"
export PATH="$WORK/bin:$PATH"

# --- control plane with delayed stages ----------------------------------------------
node bench/stages.mjs "$(dirname "$BIN")/kwok-stages/fast.yaml" > "$WORK/stages.yaml"
echo "kwok stages: $(grep -c '^kind: Stage' "$WORK/stages.yaml") (delays from bench/delays.mjs)"
t=$(now)
eval "$(MLOPS_KWOK_STAGES="$WORK/stages.yaml" bash scripts/control-plane-up.sh | grep '^KUBECONFIG=' | sed 's/^/export /')"
: "${KUBECONFIG:?control-plane-up.sh printed no KUBECONFIG}"
echo "control plane up in $(since "$t")s (apiserver 127.0.0.1:$MLOPS_CP_APISERVER_PORT)"

# --- project copy, file backend, generated passphrase (as scripts/test-engine.sh) ----
PROJECT="$WORK/project"
mkdir -p "$PROJECT" "$WORK/state"
cp -r Pulumi.yaml Pulumi.ci.yaml index.ts tsconfig.json package.json config components dags "$PROJECT/"
ln -s "$REPO/node_modules" "$PROJECT/node_modules"
cd "$PROJECT"
export PULUMI_BACKEND_URL="file://$WORK/state"
PULUMI_CONFIG_PASSPHRASE="$(head -c 24 /dev/urandom | base64)"
export PULUMI_CONFIG_PASSPHRASE
export PULUMI_SKIP_CONFIRMATIONS=true
export PULUMI_DEBUG_COMMANDS=true # registers --event-log
PULUMI=(pulumi --non-interactive --color never)
"${PULUMI[@]}" stack init ci >/dev/null

# --- the measurement ----------------------------------------------------------------
echo "pulumi up (stack ci) ..."
t=$(now)
if ! "${PULUMI[@]}" up --stack ci --yes --skip-preview --event-log "$WORK/up-events.json" >"$WORK/up.log" 2>&1; then
  echo "pulumi up failed after $(since "$t")s:" >&2; tail -60 "$WORK/up.log" >&2; exit 1
fi
UP_WALL=$(since "$t")
echo "pulumi up: $(grep -E '[0-9]+ created' "$WORK/up.log" | xargs) in ${UP_WALL}s"
"${PULUMI[@]}" stack export --stack ci >"$WORK/export.json"
echo
node "$REPO/bench/analyze.mjs" "$WORK/export.json" "$WORK/up-events.json" "$UP_WALL"

# --- destroy ------------------------------------------------------------------------
echo
t=$(now)
if "${PULUMI[@]}" destroy --stack ci --yes --skip-preview >"$WORK/destroy.log" 2>&1; then
  echo "pulumi destroy: $(grep -E '[0-9]+ deleted' "$WORK/destroy.log" | xargs) in $(since "$t")s"
  "${PULUMI[@]}" stack rm ci --yes >/dev/null 2>&1 || true
else
  echo "pulumi destroy failed:" >&2; tail -40 "$WORK/destroy.log" >&2; exit 1
fi
