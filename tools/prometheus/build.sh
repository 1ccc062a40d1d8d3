#!/usr/bin/env bash
# Usage: tools/prometheus/build.sh   -> prints the directory holding `prometheus` and `promtool`
# Builds Prometheus from its Go module at the release the deployed image runs
# (prom/prometheus:v3.5.0), into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-prometheus-<version>
# and reuses that directory when it is complete. Progress goes to stderr.
# Prometheus 3.x is published as module versions v0.3xx.y (v0.305.0 is v3.5.0: its VERSION
# file says 3.5.0). Its go.mod has a `replace` line (fsnotify pinned to v1.7.0), so
# `go install mod@version` refuses it: go_build_wrapped builds it through a wrapper module that
# carries the same replace.
# Without the `builtinassets` tag (upstream's release builds set it, after an npm build of the
# web UI) the UI is not embedded: the API, /metrics and the health endpoints work, / does not.
set -euo pipefail
# shellcheck source=../lib/go-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-install.sh"
# The module version of the release, and the release itself (stamped into the binary, as
# upstream's promu does). Bump both together, with the image tag in config/prometheus.ts.
PROMETHEUS_MODULE_VERSION="v0.305.0"
PROMETHEUS_RELEASE="3.5.0"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-prometheus-v$PROMETHEUS_RELEASE"
if [ ! -x "$out/prometheus" ] || [ ! -x "$out/promtool" ]; then rm -f "$out/.complete"; fi
# netgo as upstream's release builds (pure-Go DNS resolver; CGO is off anyway).
GO_BUILD_FLAGS=(-tags netgo -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_RELEASE -X github.com/prometheus/common/version.Branch=HEAD")
go_build_wrapped tools/prometheus/build.sh "$out" "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" \
  github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
# MLOPS_GO_INSTALL_CHECK=1: only the offline check of the commands above (unit tier).
[ "${MLOPS_GO_INSTALL_CHECK:-0}" = 1 ] && exit 0
# The release stamped above must be the one the module version holds (its VERSION file).
src="$(cd / && go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" | jq -r .Dir)"
if [ "$(cat "$src/VERSION")" != "$PROMETHEUS_RELEASE" ]; then
  echo "tools/prometheus/build.sh: module $PROMETHEUS_MODULE_VERSION is release $(cat "$src/VERSION"), not $PROMETHEUS_RELEASE" >&2
  rm -f "$out/.complete"; exit 1
fi
"$out/prometheus" --version 2>&1 | sed -n 1p >&2  # sed reads it all (SIGPIPE under pipefail otherwise)
echo "$out"
