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

# minikube 1.39+ defaults to the containerd runtime: images built into `minikube docker-env`'s
# Docker would never reach the node, and every pod of ours would fail with ErrImageNeverPull
# or ImagePullBackOff. Say so before a long `up`.
if [ "$(pulumi config get --path images.build --stack "$STACK" 2>/dev/null || true)" = true ] \
   && command -v kubectl >/dev/null && [[ "$(kubectl config current-context 2>/dev/null)" == minikube* ]]; then
  runtime="$(kubectl get nodes -o jsonpath='{.items[0].status.nodeInfo.containerRuntimeVersion}' 2>/dev/null || true)"
  if [ -n "$runtime" ] && [[ "$runtime" != docker://* ]]; then
    cat >&2 <<MSG
error: minikube's node runs ${runtime%%://*}, not Docker, so the images this stack builds
(images.build: true, into \$(minikube docker-env)) would not reach it. Either:
  - minikube delete && minikube start --container-runtime=docker --cpus 3 --memory 8g
    then: eval \$(minikube docker-env) && npm run up
  - or build the images elsewhere, 'minikube image load <ref>' each of them, and
    'pulumi config set --path images.build false --stack $STACK'.
MSG
    exit 1
  fi
  [ -n "${DOCKER_HOST:-}" ] || echo "note: DOCKER_HOST is unset: run 'eval \$(minikube docker-env)' first so the images are built inside minikube" >&2
fi

exec pulumi up --stack "$STACK" "$@"
