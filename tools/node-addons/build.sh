#!/usr/bin/env bash
# Usage: tools/node-addons/build.sh   -> prints the directory holding `coredns` and
#                                         `local-path-provisioner`
# The cluster tier's add-ons, built from their Go modules at pinned versions into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-node-addons-<coredns>-<provisioner>
# and reused when complete. Progress goes to stderr. Neither go.mod has `replace` lines.
#   coredns                 cluster DNS (the `kubernetes` plugin answers for Services)
#   local-path-provisioner  dynamic PersistentVolumes in a host directory (as on k3s)
set -euo pipefail
# shellcheck source=../lib/go-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-install.sh"
COREDNS_VERSION="v1.15.0"
LOCAL_PATH_PROVISIONER_VERSION="v0.0.30"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-node-addons-coredns-$COREDNS_VERSION-lpp-$LOCAL_PATH_PROVISIONER_VERSION"
if [ ! -x "$out/coredns" ] || [ ! -x "$out/local-path-provisioner" ]; then rm -f "$out/.complete"; fi
go_install_cached tools/node-addons/build.sh "$out" \
  "github.com/coredns/coredns@$COREDNS_VERSION" \
  "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
# MLOPS_GO_INSTALL_CHECK=1: only the offline check of the commands above (unit tier).
[ "${MLOPS_GO_INSTALL_CHECK:-0}" = 1 ] && exit 0
"$out/coredns" -version 2>&1 | sed -n 1p >&2
echo "$out"
