#!/usr/bin/env bash
# Usage: tools/minio/build.sh   -> prints the directory holding `minio` and `mc`
# Builds the MinIO server and the `mc` client from their Go modules at PINNED versions
# (both modules are untagged: the pins are pseudo-versions of the commits built) into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/bin-minio-<server>-mc-<client>
# and reuses that directory when it is complete. Progress goes to stderr.
# Neither go.mod has `replace` lines, so plain `go install mod@version` works.
set -euo pipefail
# shellcheck source=../lib/go-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/go-install.sh"
# Pseudo-versions: v0.0.0-<commit time UTC>-<12 hex of the commit>. Bump deliberately.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MC_VERSION="v0.0.0-20250313080218-cf909e1063a9"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
out="$root/bin-minio-${MINIO_VERSION##*-}-mc-${MC_VERSION##*-}"
if [ ! -x "$out/minio" ] || [ ! -x "$out/mc" ]; then rm -f "$out/.complete"; fi
go_install_cached tools/minio/build.sh "$out" "github.com/minio/minio@$MINIO_VERSION" "github.com/minio/mc@$MC_VERSION"
# MLOPS_GO_INSTALL_CHECK=1: only the offline check of the commands above (unit tier).
[ "${MLOPS_GO_INSTALL_CHECK:-0}" = 1 ] && exit 0
"$out/minio" --version >&2
"$out/mc" --version >&2
echo "$out"
