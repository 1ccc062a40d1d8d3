#!/usr/bin/env bash
# Usage: tools/statsd-exporter/build.sh   -> prints the directory holding `statsd_exporter`
# Builds the Prometheus statsd exporter from its Go module at the version the deployed image
# runs (prom/statsd-exporter:<same tag>), into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-statsd-exporter-<version>
# and reuses that directory when it is complete. Progress goes to stderr.
# Its go.mod has no `replace` lines, so plain `go install mod@version` works.
set -euo pipefail
# shellcheck source=../lib/go-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-install.sh"
# The same tag as the image in config/statsd-exporter.ts; a unit test compares the two.
# Bump both together.
STATSD_EXPORTER_VERSION="v0.31.0"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-statsd-exporter-$STATSD_EXPORTER_VERSION"
if [ ! -x "$out/statsd_exporter" ]; then rm -f "$out/.complete"; fi
go_install_cached tools/statsd-exporter/build.sh "$out" "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION"
# MLOPS_GO_INSTALL_CHECK=1: only the offline check of the commands above (unit tier).
[ "${MLOPS_GO_INSTALL_CHECK:-0}" = 1 ] && exit 0
"$out/statsd_exporter" --version 2>&1 | sed -n 1p >&2  # sed reads it all: head would close the pipe early (SIGPIPE under pipefail)
echo "$out"
