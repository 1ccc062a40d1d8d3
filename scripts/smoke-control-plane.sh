#!/usr/bin/env bash
# End-to-end check of the local control plane: start it, run a restricted namespace with a
# Deployment, a StatefulSet with a PVC, a Service and a Job, check each reaches its goal,
# delete the namespace, stop the control plane and check that no process is left.
# Self-checking: exits non-zero on any failure. Prints "N passed, N failed" at the end.
#
# Uses its own state dir and ports by default so it does not collide with a control plane
# started by hand (override with the same MLOPS_CP_* variables as control-plane-up.sh).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MLOPS_CP_DIR="${MLOPS_CP_DIR:-/tmp/mlops-cp-smoke}"
export MLOPS_CP_APISERVER_PORT="${MLOPS_CP_APISERVER_PORT:-16543}"
export MLOPS_CP_ETCD_PORT="${MLOPS_CP_ETCD_PORT:-23890}"
export MLOPS_CP_KCM_PORT="${MLOPS_CP_KCM_PORT:-20357}"
export MLOPS_CP_SCHEDULER_PORT="${MLOPS_CP_SCHEDULER_PORT:-20359}"
export MLOPS_CP_KWOK_PORT="${MLOPS_CP_KWOK_PORT:-20350}"
WAIT="${MLOPS_SMOKE_TIMEOUT:-120}s"
NS=smoke

PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
check() { # DESCRIPTION COMMAND...
  local d="$1"; shift
  if "$@"; then ok "$d"; else fail "$d"; fi
}
summary() {
  echo "smoke-control-plane: $PASSED passed, $FAILED failed"
  echo "$PASSED passed, $FAILED failed"
}

# Build (or find cached) control-plane binaries.
bash "$REPO_DIR/tools/build-toolchain.sh" \
  --only etcd,kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,kwok
BIN="$(bash "$REPO_DIR/tools/build-toolchain.sh" --print-bin-dir)"

PIDS_COPY="$(mktemp)"
cleanup() {
  local rc=$?
  if [ -f "$MLOPS_CP_DIR/pids" ]; then
    [ "$rc" -eq 0 ] || MLOPS_CP_KEEP=1 bash "$REPO_DIR/scripts/control-plane-down.sh" || true
    [ "$rc" -ne 0 ] || bash "$REPO_DIR/scripts/control-plane-down.sh" || true
  fi
  rm -f "$PIDS_COPY"
  exit "$rc"
}
trap cleanup EXIT

t0=$SECONDS
bash "$REPO_DIR/scripts/control-plane-up.sh"
ok "control plane up in $((SECONDS - t0))s"
cp "$MLOPS_CP_DIR/pids" "$PIDS_COPY"
K=("$BIN/kubectl" --kubeconfig "$MLOPS_CP_DIR/kubeconfig")

server_version_ok() {
  local want
  want="$(. "$REPO_DIR/tools/versions.env"; echo "$KUBERNETES_VERSION")"
  "${K[@]}" version -o json | grep -q "\"gitVersion\": \"$want\""
}
check "API server reports the pinned version" server_version_ok

"${K[@]}" apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
EOF

# A pod spec that satisfies the "restricted" Pod Security Standard.
pod_spec() { # INDENT-LEVEL is fixed: used under spec.template.spec
  cat <<'EOF'
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: main
        image: placeholder/pause:never-pulled
        resources:
          requests: {cpu: 50m, memory: 32Mi}
          limits: {cpu: 100m, memory: 64Mi}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
EOF
}

"${K[@]}" -n "$NS" apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
$(pod_spec)
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
$(pod_spec)
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: standard
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
$(pod_spec)
EOF

privileged_rejected() {
  local out
  if out="$("${K[@]}" -n "$NS" apply -f - 2>&1 <<EOP
apiVersion: v1
kind: Pod
metadata: {name: privileged}
spec:
  containers:
  - {name: main, image: placeholder/pause:never-pulled, securityContext: {privileged: true}}
EOP
)"; then return 1; fi
  grep -q 'violates PodSecurity "restricted' <<<"$out"
}
check "Pod Security 'restricted' rejects a privileged pod" privileged_rejected
check "Deployment web Available" \
  "${K[@]}" -n "$NS" wait deployment/web --for=condition=Available --timeout="$WAIT"
check "PVC data-db-0 Bound" \
  "${K[@]}" -n "$NS" wait pvc/data-db-0 --for=jsonpath='{.status.phase}'=Bound --timeout="$WAIT"
check "StatefulSet db readyReplicas=1" \
  "${K[@]}" -n "$NS" wait statefulset/db --for=jsonpath='{.status.readyReplicas}'=1 --timeout="$WAIT"
check "Job once Complete" \
  "${K[@]}" -n "$NS" wait job/once --for=condition=Complete --timeout="$WAIT"

pod_ips="$("${K[@]}" -n "$NS" get pods -l app=web -o jsonpath='{.items[*].status.podIP}' | tr ' ' '\n' | sort | xargs)"
ep_ips=""
for _ in $(seq 1 60); do
  ep_ips="$("${K[@]}" -n "$NS" get endpointslices -l kubernetes.io/service-name=web \
    -o jsonpath='{.items[*].endpoints[*].addresses[*]}' | tr ' ' '\n' | sort | xargs)"
  [ -n "$ep_ips" ] && [ "$ep_ips" = "$pod_ips" ] && break
  sleep 1
done
check "pods have IPs assigned by kwok ($pod_ips)" test -n "$pod_ips"
check "Service web endpoints = pod IPs ($ep_ips)" test -n "$ep_ips" -a "$ep_ips" = "$pod_ips"

echo "--- state before delete:"
"${K[@]}" -n "$NS" get deploy,sts,job,pods,pvc,svc,endpointslices -o wide 2>&1 | sed 's/^/    /'

t1=$SECONDS
check "namespace $NS deleted (finalized by the namespace controller)" \
  "${K[@]}" delete namespace "$NS" --wait=true --timeout="$WAIT"
ns_gone() {
  local out
  if out="$("${K[@]}" get namespace "$NS" 2>&1)"; then return 1; fi
  grep -q NotFound <<<"$out"
}
check "namespace $NS is gone" ns_gone
echo "    (namespace deletion took $((SECONDS - t1))s)"

bash "$REPO_DIR/scripts/control-plane-down.sh"
# A recorded pid counts as left if it exists and is not an exited (zombie) process.
running() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
left=""
while read -r name pid _; do
  if running "$pid"; then left+=" $name($pid)"; fi
done <"$PIDS_COPY"
check "no control-plane process left after down" test -z "$left"
check "state dir removed" test ! -e "$MLOPS_CP_DIR"

summary
[ "$FAILED" -eq 0 ]
