#!/usr/bin/env bash
# `npm run destroy`: `pulumi destroy` that cannot silently lose protected data.
#
# `pulumi destroy` does not run the program: it applies the resource options recorded by the
# last `pulumi up`. So `pulumi config set protectData true` followed directly by a destroy would
# still delete the namespace and every volume in it. This wrapper compares the stack config
# with what the state recorded and refuses when they disagree, saying what to run.
# With protectData recorded, the namespace and the credentials the data is bound to are
# Pulumi-protected (a bare `pulumi destroy` deletes the rest and then fails on them); this runs
# `pulumi destroy --exclude-protected`, which deletes the workloads and keeps those in the state, so the next
# `pulumi up` brings the platform back on its retained data with the same credentials.
# Extra arguments go to `pulumi destroy`, e.g. `npm run destroy -- --yes`.
set -euo pipefail
# Runs in the current directory, like pulumi: the project and its stack files are here.

STACK="${STACK:-dev}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --stack|-s) STACK="${2:?--stack needs a value}"; shift 2 ;;
    --stack=*) STACK="${1#--stack=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

command -v pulumi >/dev/null || { echo "error: the pulumi CLI is not on PATH (see README: Prerequisites)" >&2; exit 1; }
command -v node >/dev/null || { echo "error: node is not on PATH (see README: Prerequisites)" >&2; exit 1; }

wanted="$(pulumi config get protectData --stack "$STACK" 2>/dev/null || echo false)"
# What the last `up` recorded on the namespace (the object whose deletion takes the volumes).
recorded="$(pulumi stack export --stack "$STACK" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const ns = (JSON.parse(s).deployment?.resources ?? []).filter((r) => r.type === "kubernetes:core/v1:Namespace");
    console.log(ns.length === 0 ? "none" : ns.every((r) => r.retainOnDelete === true && r.protect === true) ? "true" : "false");
  });')"

if [ "$wanted" = true ] && [ "$recorded" = false ]; then
  cat >&2 <<MSG
error: refusing to destroy stack '$STACK': protectData is true in its config, but the last
'pulumi up' recorded it as false, and 'pulumi destroy' acts on what was recorded. The namespace
and every volume in it (Postgres, MinIO, Redis, Prometheus) would be deleted.
Run 'pulumi up --stack $STACK' first (it records the option), then 'npm run destroy' again.
MSG
  exit 3
fi
if [ "$wanted" != true ] && [ "$recorded" = true ]; then
  echo "note: protectData is false in the config but the last 'pulumi up' recorded true: this destroy keeps the namespace and its volumes. Run 'pulumi up --stack $STACK' first to delete them too." >&2
fi
if [ "$recorded" = true ]; then
  echo "protectData is recorded: destroying the workloads, keeping the namespace, its volumes and the credentials they need (pulumi destroy --exclude-protected)" >&2
  exec pulumi destroy --stack "$STACK" --exclude-protected ${args[@]+"${args[@]}"}
fi
exec pulumi destroy --stack "$STACK" ${args[@]+"${args[@]}"}
