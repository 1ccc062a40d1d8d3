#!/usr/bin/env bash
# The images a stack's pods run, built here and imported into the real node's containerd.
#
#   bash scripts/cluster-images.sh build  [STACK_FILE]   # build (cached), print one archive per line
#   bash scripts/cluster-images.sh import [STACK_FILE]   # build if needed, then import into the node
#
# STACK_FILE defaults to Pulumi.local.yaml. An image is one of the stack's when the reference a
# recipe of tools/images builds appears in the stack file (tests/local-stack.test.ts checks that
# every image the stack's pods name has such a recipe). The node is scripts/cluster-up.sh's.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:?usage: cluster-images.sh build|import [STACK_FILE]}"
stack_file="${2:-$REPO/Pulumi.local.yaml}"
[ -f "$stack_file" ] || { echo "cluster-images: $stack_file does not exist" >&2; exit 2; }
CONTAINERD_SOCK=/run/containerd/containerd.sock

# Builders (Debian packages; installed when missing, as scripts/cluster-up.sh does).
need=()
command -v buildah >/dev/null || need+=(buildah)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "cluster-images: ${need[*]} missing (apt-get install ${need[*]})" >&2; exit 2; }
  echo "cluster-images: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

names=()
for name in $(bash "$REPO/tools/images/build.sh" --list); do
  ref="$(bash "$REPO/tools/images/build.sh" --ref "$name")"
  grep -qF -- " $ref" "$stack_file" && names+=("$name")
done
[ "${#names[@]}" -gt 0 ] || { echo "cluster-images: no image of tools/images is named in $stack_file" >&2; exit 2; }

i=0
for name in "${names[@]}"; do
  i=$((i + 1))
  t0=$SECONDS
  tar="$(bash "$REPO/tools/images/build.sh" "$name")"
  echo "[images $i/${#names[@]}] $name: $(bash "$REPO/tools/images/build.sh" --ref "$name") ($(du -m "$tar" | cut -f1) MiB, $((SECONDS - t0))s)" >&2
  if [ "$mode" = import ]; then
    t0=$SECONDS
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$tar" >/dev/null \
      || { echo "cluster-images: importing $name into the node's containerd failed (is scripts/cluster-up.sh's node running?)" >&2; exit 1; }
    echo "[images $i/${#names[@]}] $name imported into the node in $((SECONDS - t0))s" >&2
  fi
  echo "$tar"
done
