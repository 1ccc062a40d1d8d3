#!/usr/bin/env bash
# Start a local Kubernetes control plane on loopback only (127.0.0.1):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes:
# kwok plays the kubelet, pods get a status but never run), using the binaries built by
# tools/build-toolchain.sh. Writes an admin kubeconfig and prints its path.
#
#   bash scripts/control-plane-up.sh      # start (no-op if already up and healthy)
#   bash scripts/control-plane-down.sh    # stop exactly the processes started here
#
# Env (all optional):
#   MLOPS_CP_DIR                state dir (certs, etcd data, logs, pid file, kubeconfig); default /tmp/mlops-cp
#   MLOPS_TOOLCHAIN_BIN         dir with the binaries; default: tools/build-toolchain.sh --print-bin-dir
#   MLOPS_CP_APISERVER_PORT     default 16443     MLOPS_CP_ETCD_PORT      default 23790 (peer: +10)
#   MLOPS_CP_KCM_PORT           default 20257     MLOPS_CP_SCHEDULER_PORT default 20259
#   MLOPS_CP_KWOK_PORT          default 20250
#   MLOPS_CP_NODES              number of fake nodes (default 1)
#   MLOPS_CP_NODE_CPU / _MEMORY / _PODS   allocatable per node (default 3 / 6Gi / 110)
#   MLOPS_CP_PV_POOL            PersistentVolume pool, "SIZE:COUNT ..." (default "1Gi:4 2Gi:4 5Gi:4 10Gi:4 20Gi:4");
#                               "none": neither the pool nor its `standard` StorageClass
#   MLOPS_CP_TIMEOUT            seconds to wait for each readiness step (default 120)
#   MLOPS_CP_API_ADDRESS        address kube-apiserver binds to and advertises (default 127.0.0.1).
#                               A real node's pods reach the API through the `kubernetes`
#                               Service, so scripts/cluster-up.sh sets the node bridge's address;
#                               any non-loopback address also turns on the endpoint reconciler.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CP_DIR="${MLOPS_CP_DIR:-/tmp/mlops-cp}"
BIN="${MLOPS_TOOLCHAIN_BIN:-$(bash "$REPO_DIR/tools/build-toolchain.sh" --print-bin-dir)}"
STAGES="${MLOPS_KWOK_STAGES:-$(dirname "$BIN")/kwok-stages/fast.yaml}"
HOST=127.0.0.1
API_HOST="${MLOPS_CP_API_ADDRESS:-127.0.0.1}"
APISERVER_PORT="${MLOPS_CP_APISERVER_PORT:-16443}"
ETCD_PORT="${MLOPS_CP_ETCD_PORT:-23790}"
ETCD_PEER_PORT=$((ETCD_PORT + 10))
KCM_PORT="${MLOPS_CP_KCM_PORT:-20257}"
SCHED_PORT="${MLOPS_CP_SCHEDULER_PORT:-20259}"
KWOK_PORT="${MLOPS_CP_KWOK_PORT:-20250}"
NODES="${MLOPS_CP_NODES:-1}"
NODE_CPU="${MLOPS_CP_NODE_CPU:-3}"
NODE_MEMORY="${MLOPS_CP_NODE_MEMORY:-6Gi}"
NODE_PODS="${MLOPS_CP_NODE_PODS:-110}"
PV_POOL="${MLOPS_CP_PV_POOL:-1Gi:4 2Gi:4 5Gi:4 10Gi:4 20Gi:4}"
TIMEOUT="${MLOPS_CP_TIMEOUT:-120}"
SERVICE_CIDR=10.96.0.0/12
SERVICE_IP=10.96.0.1 # first IP of SERVICE_CIDR: the `kubernetes` Service (API data only)
POD_CIDR=10.244.0.0/16 # kwok writes pod IPs from here into pod status; nothing connects to them

PKI="$CP_DIR/pki"
LOGS="$CP_DIR/logs"
PIDFILE="$CP_DIR/pids"
KUBECONFIG_OUT="$CP_DIR/kubeconfig"

log() { echo "[control-plane-up] $*"; }
die() {
  echo "[control-plane-up] ERROR: $*" >&2
  if [ -d "$LOGS" ]; then
    for f in "$LOGS"/*.log; do
      [ -f "$f" ] || continue
      echo "---- last lines of $f" >&2; tail -n 15 "$f" >&2
    done
  fi
  exit 1
}

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [ -x "$BIN/$b" ] || die "$BIN/$b missing: run 'bash tools/build-toolchain.sh' first"
done
[ -f "$STAGES" ] || die "kwok stages $STAGES missing: run 'bash tools/build-toolchain.sh' first"
command -v openssl >/dev/null || die "openssl is not on PATH"
command -v curl >/dev/null || die "curl is not on PATH"

KUBECTL=("$BIN/kubectl" --kubeconfig "$KUBECONFIG_OUT")

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
readyz() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://$API_HOST:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

# --- already running? -------------------------------------------------------------
if [ -f "$PIDFILE" ]; then
  alive=0
  while read -r _ pid _; do pid_alive "$pid" && alive=$((alive + 1)); done <"$PIDFILE"
  if [ "$alive" -eq "$(wc -l <"$PIDFILE")" ] && [ "$alive" -gt 0 ] && readyz; then
    log "already running ($alive processes); kubeconfig: $KUBECONFIG_OUT"
    echo "KUBECONFIG=$KUBECONFIG_OUT"
    exit 0
  fi
  [ "$alive" -eq 0 ] || die "a partial control plane is running under $CP_DIR: run scripts/control-plane-down.sh first"
  log "removing stale state in $CP_DIR"
fi
rm -rf "$CP_DIR"
mkdir -p "$PKI" "$LOGS" "$CP_DIR/etcd-data" "$CP_DIR/pv"
chmod 700 "$CP_DIR"
: >"$PIDFILE"

port_free() { ! (exec 3<>"/dev/tcp/$2/$1") 2>/dev/null; }
for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$KCM_PORT" "$SCHED_PORT" "$KWOK_PORT"; do
  port_free "$p" "$HOST" || die "port $HOST:$p is in use (override with the MLOPS_CP_*_PORT variables)"
done
port_free "$APISERVER_PORT" "$API_HOST" || die "port $API_HOST:$APISERVER_PORT is in use (override with MLOPS_CP_APISERVER_PORT)"

# --- certificates -----------------------------------------------------------------
log "generating certificates in $PKI"
ossl() { openssl "$@" >>"$LOGS/openssl.log" 2>&1 || die "openssl $1 failed (see $LOGS/openssl.log)"; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
  -subj "/CN=mlops-local-ca" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"

# cert NAME SUBJECT EXT-USAGE [SAN]
cert() {
  local name="$1" subj="$2" usage="$3" san="${4:-}" ext="$PKI/$1.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  ossl req -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -out "$PKI/$name.csr" -subj "$subj"
  ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$PKI/$name.crt" -days 365 -extfile "$ext"
}
cert apiserver "/CN=kube-apiserver" serverAuth \
  "IP:$HOST,IP:$API_HOST,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert admin "/O=system:masters/CN=kubernetes-admin" clientAuth
cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
cert kwok "/O=system:masters/CN=kwok-controller" clientAuth
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
# service-account token signing key pair
ossl genrsa -out "$PKI/sa.key" 2048
ossl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
chmod 600 "$PKI"/*.key

kubeconfig() { # FILE CERT-NAME
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mlops-local
  cluster:
    server: https://$API_HOST:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: mlops-local
  context:
    cluster: mlops-local
    user: $2
current-context: mlops-local
EOF
  chmod 600 "$1"
}
kubeconfig "$KUBECONFIG_OUT" admin
for c in kube-controller-manager kube-scheduler kwok; do kubeconfig "$CP_DIR/$c.kubeconfig" "$c"; done

# --- processes --------------------------------------------------------------------
start() { # NAME ARGS...
  local name="$1"; shift
  setsid "$BIN/$name" "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  local pid=$!
  echo "$name $pid $(readlink -f "$BIN/$name")" >>"$PIDFILE"
  log "started $name (pid $pid, log $LOGS/$name.log)"
}

# wait_for DESCRIPTION COMMAND...
wait_for() {
  local what="$1" t0=$SECONDS; shift
  until "$@" >/dev/null 2>&1; do
    # fail fast if one of our processes died
    while read -r name pid _; do
      pid_alive "$pid" || die "$name (pid $pid) exited while waiting for $what"
    done <"$PIDFILE"
    [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || die "timed out after ${TIMEOUT}s waiting for $what"
    sleep 1
  done
  log "$what ($((SECONDS - t0))s)"
}

start etcd --name=mlops-local --data-dir="$CP_DIR/etcd-data" \
  --listen-client-urls="http://$HOST:$ETCD_PORT" --advertise-client-urls="http://$HOST:$ETCD_PORT" \
  --listen-peer-urls="http://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://$HOST:$ETCD_PEER_PORT" \
  --initial-cluster="mlops-local=http://$HOST:$ETCD_PEER_PORT" --initial-cluster-state=new \
  --unsafe-no-fsync=true --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) --log-level=warn
wait_for "etcd healthy" curl -fsS --max-time 3 "http://$HOST:$ETCD_PORT/health"

# Loopback cannot be advertised as the `kubernetes` Service's endpoint; nothing needs it then.
ENDPOINT_RECONCILER=lease
[ "$API_HOST" != 127.0.0.1 ] || ENDPOINT_RECONCILER=none
start kube-apiserver \
  --bind-address="$API_HOST" --advertise-address="$API_HOST" --secure-port="$APISERVER_PORT" \
  --etcd-servers="http://$HOST:$ETCD_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --service-account-issuer="https://kubernetes.default.svc.cluster.local" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --endpoint-reconciler-type="$ENDPOINT_RECONCILER"
wait_for "kube-apiserver /readyz ok" readyz

start kube-controller-manager \
  --kubeconfig="$CP_DIR/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$CP_DIR/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$CP_DIR/kube-controller-manager.kubeconfig" \
  --bind-address="$HOST" --secure-port="$KCM_PORT" \
  --controllers='*' --use-service-account-credentials=true \
  --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --allocate-node-cidrs=false \
  --leader-elect=false --profiling=false

start kube-scheduler \
  --kubeconfig="$CP_DIR/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$CP_DIR/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$CP_DIR/kube-scheduler.kubeconfig" \
  --bind-address="$HOST" --secure-port="$SCHED_PORT" --leader-elect=false --profiling=false

# kwok manages only nodes carrying its annotation (the convention kwokctl uses).
start kwok --kubeconfig="$CP_DIR/kwok.kubeconfig" --config="$STAGES" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --cidr="$POD_CIDR" --node-ip="$HOST" --node-port="$KWOK_PORT" \
  --server-address="$HOST:$KWOK_PORT" --node-lease-duration-seconds=40

# --- cluster objects ---------------------------------------------------------------
manifest="$CP_DIR/cluster-objects.yaml"
{
  for i in $(seq 0 $((NODES - 1))); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: mlops-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: mlops-node-$i
    type: kwok
spec: {}
status:
  allocatable: {cpu: "$NODE_CPU", memory: "$NODE_MEMORY", pods: "$NODE_PODS", ephemeral-storage: 50Gi}
  capacity: {cpu: "$NODE_CPU", memory: "$NODE_MEMORY", pods: "$NODE_PODS", ephemeral-storage: 50Gi}
EOF
  done
  # "none": no StorageClass and no pool (a real node brings its own provisioner).
  [ "$PV_POOL" = none ] || cat <<EOF
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
# Claims of this class may grow, so the engine tier can apply a volume expansion (the volumes
# themselves never grow: nothing here resizes a hostPath).
allowVolumeExpansion: true
EOF
  n=0
  [ "$PV_POOL" = none ] && PV_POOL=""
  for entry in $PV_POOL; do
    size="${entry%%:*}" count="${entry#*:}"
    for _ in $(seq 1 "$count"); do
      name="pool-$(tr 'A-Z' 'a-z' <<<"$size")-$n"
      mkdir -p "$CP_DIR/pv/$name"
      cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  labels: {mlops.local/pv-pool: "true"}
spec:
  capacity: {storage: $size}
  accessModes: [ReadWriteOnce, ReadOnlyMany, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  volumeMode: Filesystem
  hostPath: {path: $CP_DIR/pv/$name, type: DirectoryOrCreate}
EOF
      n=$((n + 1))
    done
  done
} >"$manifest"
if grep -q '^kind:' "$manifest"; then
  wait_for "cluster objects applied" "${KUBECTL[@]}" apply -f "$manifest"
fi

node_ready() {
  local i s
  for i in $(seq 0 $((NODES - 1))); do
    s="$("${KUBECTL[@]}" get node "mlops-node-$i" \
      -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
    [ "$s" = "True" ] || return 1
  done
}
wait_for "node(s) Ready" node_ready
no_taints() { [ -z "$("${KUBECTL[@]}" get nodes -o jsonpath='{.items[*].spec.taints}')" ]; }
wait_for "node taints cleared" no_taints
wait_for "default ServiceAccount exists" "${KUBECTL[@]}" -n default get serviceaccount default
wait_for "kube-root-ca.crt published" "${KUBECTL[@]}" -n default get configmap kube-root-ca.crt

log "control plane up; processes in $PIDFILE"
echo "KUBECONFIG=$KUBECONFIG_OUT"
