#!/usr/bin/env bash
# Usage: tools/minio/build.sh   -> prints the directory holding `minio` and `mc`
# Builds the MinIO server and the `mc` client from their Go modules at PINNED versions
# (both modules are untagged: the pins are pseudo-versions of the commits built) into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-minio-<server>-mc-<client>
# and reuses that directory when it is complete. Progress goes to stderr.
# Neither go.mod has `replace` lines, so plain `go install mod@version` works.
set -euo pipefail
# Pseudo-versions: v0.0.0-<commit time UTC>-<12 hex of the commit>. Bump deliberately.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MC_VERSION="v0.0.0-20250313080218-cf909e1063a9"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-minio-${MINIO_VERSION##*-}-mc-${MC_VERSION##*-}"
if [ -x "$out/minio" ] && [ -x "$out/mc" ] && [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "tools/minio/build.sh: the Go toolchain (go) is required" >&2; exit 2; }

start=$(date +%s)
mkdir -p "$out"
# -p 1 / GOMAXPROCS keeps one core free for everyone else's builds on a 2-core machine.
export GOBIN="$out" CGO_ENABLED=0 GOFLAGS="-trimpath -p=1" GOTOOLCHAIN=local
echo "tools/minio/build.sh: building minio@$MINIO_VERSION and mc@$MC_VERSION into $out" >&2
nice -n 10 go install "github.com/minio/minio@$MINIO_VERSION" >&2
nice -n 10 go install "github.com/minio/mc@$MC_VERSION" >&2
"$out/minio" --version >&2
"$out/mc" --version >&2
touch "$out/.complete"
echo "tools/minio/build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
