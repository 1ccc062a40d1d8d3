#!/usr/bin/env bash
# The main command (`npm run up`): install dependencies if needed, select (or create) the
# stack, and run `pulumi up`. Extra arguments go to `pulumi up`, e.g. `npm run up -- --yes`.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK="${STACK:-dev}"

command -v pulumi >/dev/null || { echo "error: the pulumi CLI is not on PATH (see README: Prerequisites)" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node is not on PATH (see README: Prerequisites)" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
fi

# A local passphrase-encrypted stack needs a passphrase; an empty one is allowed for laptops.
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "note: PULUMI_CONFIG_PASSPHRASE is unset; pulumi will ask for it (export it to skip the prompt)" >&2
fi

pulumi stack select --create "$STACK"
exec pulumi up --stack "$STACK" "$@"
