#!/bin/sh
# The minio image's entrypoint (ours; upstream's contract in config/image-contracts.ts):
# every command is a minio command, so `server /data` runs `minio server /data`, and a
# leading `minio` is kept as it is. Upstream's user switching (MINIO_USERNAME, "deprecated
# and unsupported") is not offered: run the pod as the uid you want.
set -eu
[ "$#" -gt 0 ] || set -- minio
[ "$1" = minio ] || set -- minio "$@"
exec "$@"
