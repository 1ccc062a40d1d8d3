#!/usr/bin/env bash
# services/data-api: type check, build, then vitest: contract tests over real HTTP, generator
# statistics, the Postgres state backend against a real throw-away PostgreSQL, and the built
# server as a real process (restart, SIGTERM). Fails loudly if a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
t0=$(date +%s)
took() { echo "--- data-api: $1 took $(( $(date +%s) - $2 ))s"; }

# PostgreSQL server binaries (the Postgres state-backend tests start a real server).
if ! { command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; }; then
  t=$(date +%s)
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  took "apt-get install postgresql" "$t"
fi
if [ ! -d node_modules/fastify ]; then
  t=$(date +%s)
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  took "npm ci" "$t"
fi

t=$(date +%s)
npx tsc --noEmit -p services/data-api/tsconfig.json
npm run --silent build -w services/data-api
took "type check + build" "$t"

t=$(date +%s)
(cd services/data-api && npx vitest run --reporter=default)
took "vitest" "$t"
took "total" "$t0"
