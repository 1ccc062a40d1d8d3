#!/usr/bin/env bash
# Usage: tools/kube-router/build.sh              -> builds if needed, prints the directory holding `kube-router`
#        tools/kube-router/build.sh --print-dir  -> only prints that directory (nothing is built)
# Builds kube-router from its Go module at a PINNED version into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-kube-router-<version>
# and reuses that directory when it is complete. Progress goes to stderr.
# The cluster tier runs only its network policy controller (--run-firewall) on the real node,
# so NetworkPolicies are enforced there; routing and the service proxy stay with the bridge CNI
# and kube-proxy. v2.1.0 is the only version the module proxy serves; security reports exist for
# it, which is acceptable for a throw-away test node and is why nothing else runs it.
set -euo pipefail
# shellcheck source=../lib/go-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-install.sh"
KUBE_ROUTER_VERSION="v2.1.0"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-kube-router-$KUBE_ROUTER_VERSION"
[ "${1:-}" = --print-dir ] && { echo "$out"; exit 0; }
if [ ! -x "$out/kube-router" ]; then rm -f "$out/.complete"; fi
go_install_cached tools/kube-router/build.sh "$out" "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
# MLOPS_GO_INSTALL_CHECK=1: only the offline check of the command above (unit tier).
[ "${MLOPS_GO_INSTALL_CHECK:-0}" = 1 ] && exit 0
"$out/kube-router" --version >&2
echo "$out"
