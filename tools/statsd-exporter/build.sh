#!/usr/bin/env bash
# Usage: tools/statsd-exporter/build.sh   -> prints the directory holding `statsd_exporter`
# Builds the Prometheus statsd exporter from its Go module at the version the deployed image
# runs (prom/statsd-exporter:<same tag>), into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-statsd-exporter-<version>
# and reuses that directory when it is complete. Progress goes to stderr.
# Its go.mod has no `replace` lines, so plain `go install mod@version` works.
set -euo pipefail
# The same tag as the image in config/monitoring (statsdExporter.image); a unit test
# compares the two. Bump both together.
STATSD_EXPORTER_VERSION="v0.31.0"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-statsd-exporter-$STATSD_EXPORTER_VERSION"
if [ -x "$out/statsd_exporter" ] && [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "tools/statsd-exporter/build.sh: the Go toolchain (go) is required" >&2; exit 2; }

start=$(date +%s)
mkdir -p "$out"
export GOBIN="$out" CGO_ENABLED=0 GOFLAGS="-trimpath -p=1" GOTOOLCHAIN=local
echo "tools/statsd-exporter/build.sh: building statsd_exporter@$STATSD_EXPORTER_VERSION into $out" >&2
nice -n 10 go install "github.com/prometheus/statsd_exporter@$STATSD_EXPORTER_VERSION" >&2
"$out/statsd_exporter" --version >&2
touch "$out/.complete"
echo "tools/statsd-exporter/build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
