#!/usr/bin/env bash
# `npm run test:engine`: the real Pulumi CLI and Kubernetes provider deploy stack `ci` to a
# real kube-apiserver (scripts/control-plane-up.sh; kwok simulates the nodes), then:
#   preview -> up (every resource created and awaited by the provider) -> a second up that
#   must change nothing -> destroy, after which nothing of ours is left in the API server.
# The order in which resources became ready is read from the engine's own event log and
# checked against the graph. Prints per-phase timings. No network: plugins come from the
# local toolchain build, the state from a temporary file backend.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

WORK="${MLOPS_ENGINE_DIR:-$(mktemp -d /tmp/mlops-engine.XXXXXX)}"
mkdir -p "$WORK"
export MLOPS_CP_DIR="$WORK/cp"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
phase_start() { PHASE="$1"; PHASE_T0=$(date +%s.%N); echo; echo "=== $1"; }
TIMINGS=()
phase_end() { local dt; dt=$(awk -v a="$PHASE_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'); TIMINGS+=("$PHASE: ${dt}s"); echo "--- $PHASE took ${dt}s"; }

cleanup() {
  local rc=$?
  bash "$REPO/scripts/control-plane-down.sh" >/dev/null 2>&1 || true
  if [ "${MLOPS_ENGINE_KEEP:-}" != 1 ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
  exit $rc
}
trap cleanup EXIT

phase_start "toolchain"
# Builds whatever is missing (cold: tens of minutes, see tools/README.md); warm: instant.
bash tools/build-toolchain.sh >&2
BIN="$(bash tools/build-toolchain.sh --print-bin-dir)"
phase_end

phase_start "control plane"
# Free loopback ports unless the caller chose them, so a second control plane (a benchmark,
# another checkout's test) can run beside this one.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
for var in MLOPS_CP_APISERVER_PORT MLOPS_CP_ETCD_PORT MLOPS_CP_KCM_PORT MLOPS_CP_SCHEDULER_PORT MLOPS_CP_KWOK_PORT; do
  [ -n "${!var:-}" ] || export "$var=$(free_port)"
done
eval "$(bash scripts/control-plane-up.sh | grep '^KUBECONFIG=' | sed 's/^/export /')"
: "${KUBECONFIG:?control-plane-up.sh printed no KUBECONFIG}"
kubectl() { "$BIN/kubectl" "$@"; }
kubectl get nodes -o name
phase_end

# shellcheck source=scripts/lib/pulumi-project.sh
source scripts/lib/pulumi-project.sh
pulumi_project "$WORK" ci

phase_start "pulumi preview"
if "${PULUMI[@]}" preview --stack ci --diff >"$WORK/preview.log" 2>&1; then
  ok "pulumi preview succeeded ($(grep -cE '^\s+\+ ' "$WORK/preview.log" || true) creates listed)"
else
  fail "pulumi preview"; tail -40 "$WORK/preview.log"
fi
phase_end

phase_start "pulumi up"
if "${PULUMI[@]}" up --stack ci --yes --skip-preview --event-log "$WORK/up-events.json" >"$WORK/up.log" 2>&1; then
  ok "pulumi up created the stack: $(grep -E '^ *[+] *[0-9]+ created$' "$WORK/up.log" | xargs)"
else
  fail "pulumi up"; tail -60 "$WORK/up.log"
fi
phase_end

phase_start "graph order (event log)"
if node "$REPO/scripts/engine-order.js" "$WORK/up-events.json"; then
  ok "resources became ready in an order that respects the graph"
else
  fail "ready order violates the graph"
fi
phase_end

phase_start "cluster state after up"
# The provider's await logic already waited for these; check the API server agrees.
if kubectl -n mlops get jobs -o jsonpath='{range .items[*]}{.metadata.name}={.status.succeeded}{"\n"}{end}' | tee "$WORK/jobs.txt" | grep -vq '=1$'; then
  fail "a Job did not complete: $(cat "$WORK/jobs.txt" | xargs)"
else
  ok "all $(wc -l <"$WORK/jobs.txt") Jobs completed"
fi
not_ready=$(kubectl -n mlops get deploy,sts -o jsonpath='{range .items[*]}{.kind}/{.metadata.name} {.status.readyReplicas}/{.spec.replicas}{"\n"}{end}' | awk '{ split($2, r, "/"); if (r[1] != r[2]) print $1 }')
if [ -z "$not_ready" ]; then ok "every Deployment and StatefulSet is ready"; else fail "not ready: $not_ready"; fi
unbound=$(kubectl -n mlops get pvc -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase}{"\n"}{end}' | grep -v '=Bound$' || true)
if [ -z "$unbound" ]; then ok "every PVC is Bound ($(kubectl -n mlops get pvc -o name | wc -l))"; else fail "PVCs not bound: $unbound"; fi
[ "$(kubectl get ns mlops -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')" = restricted ] \
  && ok "namespace enforces the restricted Pod Security Standard (the API server admitted every pod)" \
  || fail "namespace is not labelled restricted"
phase_end

phase_start "second pulumi up (no changes)"
if "${PULUMI[@]}" up --stack ci --yes --skip-preview --expect-no-changes >"$WORK/up2.log" 2>&1; then
  ok "second pulumi up reports no changes"
else
  fail "second pulumi up changed something"; grep -E '^\s+[~+-]|updated|replaced|created|deleted' "$WORK/up2.log" | head -30
fi
phase_end

phase_start "upgrade: an image bump and a volume expansion keep every claim"
# The provider replaces a StatefulSet whose claim templates change, and a replacement used to
# delete the claims (and the data) with it. Both changes must be updates of the same objects.
claims() { kubectl -n mlops get pvc -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.uid}{"\n"}{end}' | sort; }
sts_uid() { kubectl -n mlops get sts postgres -o jsonpath='{.metadata.uid}'; }
claims_before="$(claims)"; sts_before="$(sts_uid)"
NEW_PG_IMAGE=docker.io/library/postgres:17.7-bookworm
"${PULUMI[@]}" config set --path postgres.image "$NEW_PG_IMAGE" --stack ci
"${PULUMI[@]}" config set --path postgres.storage.size 6Gi --stack ci
if "${PULUMI[@]}" up --stack ci --yes --skip-preview >"$WORK/up-upgrade.log" 2>&1; then
  ok "pulumi up with postgres.image and postgres.storage.size changed: $(grep -E '^ *([~+-]|[+]-) *[0-9]+ (updated|replaced|created|deleted)$' "$WORK/up-upgrade.log" | xargs)"
else
  fail "pulumi up of the upgrade"; tail -40 "$WORK/up-upgrade.log"
fi
[ "$(kubectl -n mlops get sts postgres -o jsonpath='{.spec.template.spec.containers[0].image}')" = "$NEW_PG_IMAGE" ] \
  && ok "the StatefulSet runs the new image" || fail "the StatefulSet does not run $NEW_PG_IMAGE"
[ -n "$sts_before" ] && [ "$(sts_uid)" = "$sts_before" ] \
  && ok "the StatefulSet was updated in place (same UID), not replaced" || fail "the StatefulSet was replaced (UID $sts_before -> $(sts_uid))"
# (The setup Job is replaced on purpose: a new image re-runs it.)
if grep -qE '(StatefulSet|PersistentVolumeClaim).*replac' "$WORK/up-upgrade.log"; then
  fail "the upgrade replaced a data object: $(grep -E '(StatefulSet|PersistentVolumeClaim).*replac' "$WORK/up-upgrade.log" | head -5 | xargs)"
else ok "no StatefulSet or claim was replaced"; fi
claims_after="$(claims)"
[ -n "$claims_before" ] && [ "$claims_after" = "$claims_before" ] \
  && ok "every claim kept its UID ($(echo "$claims_after" | wc -l) claims)" || { fail "claims changed"; diff <(echo "$claims_before") <(echo "$claims_after") || true; }
[ "$(kubectl -n mlops get pvc data-postgres-0 -o jsonpath='{.spec.resources.requests.storage}')" = 6Gi ] \
  && ok "the postgres claim was expanded to 6Gi in place" || fail "data-postgres-0 requests $(kubectl -n mlops get pvc data-postgres-0 -o jsonpath='{.spec.resources.requests.storage}')"
# A shrink and a class change are refused at preview, naming the config field.
"${PULUMI[@]}" config set --path postgres.storage.size 4Gi --stack ci
if "${PULUMI[@]}" preview --stack ci >"$WORK/preview-shrink.log" 2>&1; then
  fail "preview accepted a volume shrink"
elif grep -q "'postgres.storage.size' cannot shrink (was 6Gi, now 4Gi)" "$WORK/preview-shrink.log"; then
  ok "preview refuses a shrink: $(grep -o "'postgres.storage.size' cannot shrink[^:]*" "$WORK/preview-shrink.log" | head -1)"
else
  fail "preview failed on a shrink without naming the field"; tail -20 "$WORK/preview-shrink.log"
fi
"${PULUMI[@]}" config set --path postgres.storage.size 6Gi --stack ci
"${PULUMI[@]}" config set --path postgres.storage.storageClass fast --stack ci
if "${PULUMI[@]}" preview --stack ci >"$WORK/preview-class.log" 2>&1; then
  fail "preview accepted a StorageClass change of an existing volume"
elif grep -q "'postgres.storage.storageClass' cannot change for an existing volume (was 'standard', now 'fast')" "$WORK/preview-class.log"; then
  ok "preview refuses a StorageClass change of an existing volume, naming the field"
else
  fail "preview failed on a class change without naming the field"; tail -20 "$WORK/preview-class.log"
fi
"${PULUMI[@]}" config rm --path postgres.storage.storageClass --stack ci
phase_end

phase_start "protectData: destroy keeps the data, up re-attaches it"
pvcs() { kubectl -n mlops get pvc -o jsonpath='{range .items[*]}{.metadata.name}={.spec.volumeName}{"\n"}{end}' | sort; }
"${PULUMI[@]}" config set protectData true --stack ci
# `destroy` acts on the options the last `up` recorded: right after `config set`, npm run destroy
# (scripts/destroy.sh) must refuse and delete nothing.
sts_count="$(kubectl -n mlops get sts -o name | wc -l)"
if bash "$REPO/scripts/destroy.sh" --stack ci --yes --skip-preview --non-interactive >"$WORK/destroy-refused.log" 2>&1; then
  fail "scripts/destroy.sh destroyed the stack although protectData was set but not recorded by an up"
elif grep -q "refusing to destroy stack 'ci': protectData is true" "$WORK/destroy-refused.log" \
     && [ "$(kubectl -n mlops get sts -o name | wc -l)" -eq "$sts_count" ] && [ "$sts_count" -gt 0 ]; then
  ok "npm run destroy refuses while protectData is set but not yet recorded, and says to run pulumi up ($sts_count StatefulSets untouched)"
else
  fail "scripts/destroy.sh did not refuse cleanly"; tail -20 "$WORK/destroy-refused.log"
fi
# The values the retained data is bound to (superuser password, Fernet key); never printed.
bound() { kubectl -n mlops get secret postgres-superuser airflow-credentials -o json 2>/dev/null \
  | jq -r '.items | if length == 2 then map(.data.password // .data["fernet-key"]) | join(",") else empty end'; }
if "${PULUMI[@]}" up --stack ci --yes --skip-preview >"$WORK/up-protect.log" 2>&1 \
   && before="$(pvcs)" && bound_before="$(bound)"; then
  if bash "$REPO/scripts/destroy.sh" --stack ci --yes --skip-preview --non-interactive >"$WORK/destroy-protect.log" 2>&1 \
     && kubectl get ns mlops >/dev/null 2>&1 && [ "$(kubectl -n mlops get pvc -o name | wc -l)" -eq "$(echo "$before" | wc -l)" ] \
     && [ -z "$(kubectl -n mlops get deploy,sts,secrets -l app.kubernetes.io/part-of=mlops-platform -o name)" ]; then
    ok "npm run destroy with protectData removed the workloads and Secrets and kept the namespace and $(echo "$before" | wc -l) PVCs ($(grep -o 'There are still [0-9]* protected resources' "$WORK/destroy-protect.log") in the state)"
  else
    fail "npm run destroy with protectData did not keep exactly the namespace and PVCs"; tail -20 "$WORK/destroy-protect.log"
  fi
  if "${PULUMI[@]}" up --stack ci --yes --skip-preview >"$WORK/up-readopt.log" 2>&1 && [ "$(pvcs)" = "$before" ]; then
    ok "the next up adopted the retained namespace and re-attached the same volumes"
  else
    fail "up after a protected destroy"; tail -30 "$WORK/up-readopt.log"
  fi
  [ -n "$bound_before" ] && [ "$(bound)" = "$bound_before" ] && ok "and wrote the same Postgres superuser password and Fernet key again (the retained data's)" \
    || fail "the Postgres superuser password or Fernet key changed across a protected destroy"
  # A bare `pulumi destroy` deletes what is not protected and then stops with an error on what is:
  # the data and its credentials survive that way too.
  if "${PULUMI[@]}" destroy --stack ci --yes --skip-preview >"$WORK/destroy-bare.log" 2>&1; then
    fail "a bare pulumi destroy reported success although protected resources were left"
  elif grep -q "cannot be deleted" "$WORK/destroy-bare.log" && grep -q "because it is protected" "$WORK/destroy-bare.log" \
       && [ "$(pvcs)" = "$before" ] && [ -z "$(kubectl -n mlops get deploy,sts -o name)" ] \
       && "${PULUMI[@]}" up --stack ci --yes --skip-preview >"$WORK/up-readopt2.log" 2>&1 && [ "$(pvcs)" = "$before" ] && [ "$(bound)" = "$bound_before" ]; then
    ok "a bare pulumi destroy stops at the $(grep -c 'because it is protected' "$WORK/destroy-bare.log") protected resources with an error naming them; the namespace, claims and bound credentials survive it too"
  else
    fail "a bare pulumi destroy with protectData recorded"; tail -20 "$WORK/destroy-bare.log" "$WORK/up-readopt2.log" 2>/dev/null
  fi
else
  fail "up with protectData"; tail -30 "$WORK/up-protect.log"
fi
# Back to the default, so the final destroy removes everything.
"${PULUMI[@]}" config set protectData false --stack ci
"${PULUMI[@]}" up --stack ci --yes --skip-preview >"$WORK/up-unprotect.log" 2>&1 || { fail "up with protectData false"; tail -30 "$WORK/up-unprotect.log"; }
phase_end

phase_start "pulumi destroy"
if "${PULUMI[@]}" destroy --stack ci --yes --skip-preview >"$WORK/destroy.log" 2>&1; then
  ok "pulumi destroy succeeded: $(grep -E '^ *- *[0-9]+ deleted$' "$WORK/destroy.log" | xargs)"
else
  fail "pulumi destroy"; tail -40 "$WORK/destroy.log"
fi
left=$(kubectl get all,pvc,secrets,configmaps,jobs,serviceaccounts,clusterroles,clusterrolebindings -A -l app.kubernetes.io/part-of=mlops-platform -o name 2>/dev/null || true)
if [ -z "$left" ] && ! kubectl get ns mlops >/dev/null 2>&1; then
  ok "nothing of ours is left in the API server (namespace mlops gone, no labelled objects)"
else
  fail "left behind after destroy: ${left:-namespace mlops}"
fi
[ "$("${PULUMI[@]}" stack --stack ci --show-urns 2>/dev/null | grep -c 'urn:pulumi' || true)" -le 1 ] \
  && ok "stack state is empty" || fail "stack state still holds resources"
"${PULUMI[@]}" stack rm ci --yes >/dev/null 2>&1 || true
phase_end

echo
echo "engine tier timings:"
printf '  %s\n' "${TIMINGS[@]}"
echo "engine tier: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
