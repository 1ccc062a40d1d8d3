#!/usr/bin/env bash
# Start a real single-node Kubernetes cluster on this machine: the control plane of
# scripts/control-plane-up.sh (no kwok node), plus a real node: containerd and runc and the
# CNI plugins from Debian, kubelet and kube-proxy built from the same Kubernetes module
# (tools/build-toolchain.sh), and the add-ons minikube and k3s bring (CoreDNS, a
# local-path volume provisioner, scripts/cluster/addons.yaml) running as pods from images
# built here (tools/images/build.sh). Nothing is pulled from a registry.
#
#   sudo bash scripts/cluster-up.sh     # start; prints KUBECONFIG=<path> last
#   sudo bash scripts/cluster-down.sh   # stop everything, remove every trace
#
# Root is required (containers, bridge, iptables). The host's cgroup mounts are used as they
# are (v1 with the cgroupfs driver here) and never remounted.
#
# Env (optional): MLOPS_CLUSTER_DIR (default /tmp/mlops-cluster), MLOPS_CLUSTER_TIMEOUT
# (seconds per readiness step, default 180), MLOPS_CP_APISERVER_PORT and the other
# MLOPS_CP_* ports of control-plane-up.sh.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${MLOPS_CLUSTER_DIR:-/tmp/mlops-cluster}"
CP_DIR="$CLUSTER_DIR/cp"
NODE_DIR="$CLUSTER_DIR/node"
TIMEOUT="${MLOPS_CLUSTER_TIMEOUT:-180}"
NODE_NAME=mlops-node
BRIDGE=mlops0
NODE_IP=10.244.0.1     # the bridge's address: the node's InternalIP, the API server's address
POD_SUBNET=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
DNS_IP=10.96.0.10
CONTAINERD_SOCK=/run/containerd/containerd.sock # where cAdvisor looks for per-container stats
PIDFILE="$NODE_DIR/pids"
LOGS="$NODE_DIR/logs"

log() { echo "[cluster-up] $*"; }
die() {
  echo "[cluster-up] ERROR: $*" >&2
  for f in "$LOGS"/*.log; do [ -f "$f" ] && { echo "---- last lines of $f" >&2; tail -n 20 "$f" >&2; }; done
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (containers, a network bridge and iptables need it)"

# --- prerequisites (Debian packages; installed when missing) -------------------------
need=()
command -v runc >/dev/null || need+=(runc)
command -v containerd >/dev/null && command -v ctr >/dev/null || need+=(containerd)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/portmap ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ipset >/dev/null || need+=(ipset) # kube-router's network policy controller
command -v buildah >/dev/null || need+=(buildah)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v ip >/dev/null || die "ip (iproute2) is required"
pgrep -x containerd >/dev/null && die "a containerd is already running on this machine; stop it first (this script runs its own)"
[ ! -e "$CONTAINERD_SOCK" ] || die "$CONTAINERD_SOCK exists: another containerd, or a previous run (scripts/cluster-down.sh cleans up)"

# --- binaries and images (cached) ------------------------------------------------------
bash "$REPO_DIR/tools/build-toolchain.sh" >&2
BIN="$(bash "$REPO_DIR/tools/build-toolchain.sh" --print-bin-dir)"
for b in kubelet kube-proxy kubectl; do [ -x "$BIN/$b" ] || die "$BIN/$b missing (tools/build-toolchain.sh)"; done
KUBE_ROUTER="$(bash "$REPO_DIR/tools/kube-router/build.sh")/kube-router"
declare -A IMAGE_TAR
for img in pause busybox coredns local-path-provisioner; do
  IMAGE_TAR[$img]="$(bash "$REPO_DIR/tools/images/build.sh" "$img")"
done
BUSYBOX_REF="$(bash "$REPO_DIR/tools/images/build.sh" --ref busybox)"

mkdir -p "$NODE_DIR" "$LOGS" "$NODE_DIR/cni/net.d" "$NODE_DIR/volumes" "$NODE_DIR/pki"
: >"$PIDFILE"
KUBECTL=("$BIN/kubectl" --kubeconfig "$CP_DIR/kubeconfig")

start() { # NAME BINARY ARGS...
  local name="$1" bin="$2"; shift 2
  setsid "$bin" "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
  echo "$name $! $(readlink -f "$bin")" >>"$PIDFILE"
  log "started $name (pid $!, log $LOGS/$name.log)"
}
wait_for() { # DESCRIPTION COMMAND...
  local what="$1" t0=$SECONDS; shift
  until "$@" >/dev/null 2>&1; do
    while read -r name pid _; do kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) exited while waiting for $what"; done <"$PIDFILE"
    [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || die "timed out after ${TIMEOUT}s waiting for $what"
    sleep 1
  done
  log "$what ($((SECONDS - t0))s)"
}

# --- network: forwarding, bridge netfilter, the node bridge ------------------------------
echo 1 >/proc/sys/net/ipv4/ip_forward
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null || true
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || die "bridge netfilter is unavailable (kube-proxy's Service rules would not see pod-to-pod traffic)"
echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
# The bridge exists before the API server starts, so the server can listen on the address
# the pods reach it at; the CNI bridge plugin adopts it.
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
ip addr show dev "$BRIDGE" | grep -q " $NODE_IP/" || ip addr add "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up

# --- control plane -----------------------------------------------------------------------
MLOPS_CP_DIR="$CP_DIR" MLOPS_CP_NODES=0 MLOPS_CP_PV_POOL=none MLOPS_CP_API_ADDRESS="$NODE_IP" \
  bash "$REPO_DIR/scripts/control-plane-up.sh" >"$LOGS/control-plane-up.log" 2>&1 \
  || { cat "$LOGS/control-plane-up.log" >&2; die "control plane did not start"; }
PKI="$CP_DIR/pki"
API_SERVER="$(awk '/^ *server: /{ print $2; exit }' "$CP_DIR/kubeconfig")"
log "control plane up at $API_SERVER"

# --- node credentials (signed by the control plane's CA) ---------------------------------
node_cert() { # NAME SUBJECT
  openssl req -newkey rsa:2048 -nodes -keyout "$NODE_DIR/pki/$1.key" -out "$NODE_DIR/pki/$1.csr" -subj "$2" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$NODE_DIR/pki/$1.ext"
  openssl x509 -req -in "$NODE_DIR/pki/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$NODE_DIR/pki/$1.crt" -days 30 -extfile "$NODE_DIR/pki/$1.ext" 2>/dev/null
  chmod 600 "$NODE_DIR/pki/$1.key"
  cat >"$NODE_DIR/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: mlops-local, cluster: {server: "$API_SERVER", certificate-authority: "$PKI/ca.crt"}}]
users: [{name: $1, user: {client-certificate: "$NODE_DIR/pki/$1.crt", client-key: "$NODE_DIR/pki/$1.key"}}]
contexts: [{name: mlops-local, context: {cluster: mlops-local, user: $1}}]
current-context: mlops-local
EOF
}
# The Node authorizer and NodeRestriction know a kubelet by this identity.
node_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
# Bound to the system:node-proxier ClusterRole by the API server's bootstrap policy.
node_cert kube-proxy "/CN=system:kube-proxy"
# Bound below to a ClusterRole that reads what its network policy controller watches.
node_cert kube-router "/CN=mlops:kube-router"

# --- containerd ----------------------------------------------------------------------------
cat >"$NODE_DIR/containerd.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd"
state = "/run/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # This VM may not lower oom_score_adj; without this every sandbox fails to start.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
EOF
cat >"$NODE_DIR/cni/net.d/10-mlops.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "mlops",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NODE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
start containerd "$(command -v containerd)" --config "$NODE_DIR/containerd.toml"
CTR=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
wait_for "containerd answers" "${CTR[@]}" version
for img in "${!IMAGE_TAR[@]}"; do
  "${CTR[@]}" images import "${IMAGE_TAR[$img]}" >>"$LOGS/images.log" 2>&1 || die "ctr import of $img failed (see $LOGS/images.log)"
done
log "images imported: $("${CTR[@]}" images ls -q | grep -v '^sha256:' | xargs)"

# --- kubelet -------------------------------------------------------------------------------
cat >"$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 host (hybrid layout): Kubernetes 1.35+ refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $NODE_DIR/pod-logs
staticPodPath: ""
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
serializeImagePulls: false
evictionHard: {memory.available: "200Mi", nodefs.available: "5%", imagefs.available: "5%"}
# No image garbage collection: nothing can be pulled again here, and the kubelet counts a thin
# disk's unallocated space as used, so its 85% mark deleted the pause image mid-run.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
start kubelet "$BIN/kubelet" --config="$NODE_DIR/kubelet.yaml" --kubeconfig="$NODE_DIR/kubelet.kubeconfig" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$NODE_DIR/kubelet" \
  --cert-dir="$NODE_DIR/kubelet/pki" --v=1
node_ready() { [ "$("${KUBECTL[@]}" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for "node $NODE_NAME Ready" node_ready

# --- kube-proxy ----------------------------------------------------------------------------
cat >"$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $CLUSTER_CIDR
hostnameOverride: $NODE_NAME
clientConnection: {kubeconfig: "$NODE_DIR/kube-proxy.kubeconfig"}
# Leave the host's conntrack table size alone.
conntrack: {maxPerCore: 0}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOF
start kube-proxy "$BIN/kube-proxy" --config="$NODE_DIR/kube-proxy.yaml" --v=1
wait_for "kube-proxy healthy" curl -fsS --max-time 3 http://127.0.0.1:10256/healthz

# --- kube-router: NetworkPolicies ------------------------------------------------------------
# The bridge CNI does not enforce NetworkPolicies; kube-router's firewall does (iptables and
# ipsets per pod, for traffic between pods on the bridge too: bridge-nf-call-iptables is on).
# Only that controller runs: routing stays with the bridge, Services with kube-proxy. Traffic
# from the node itself (probes, the tests' requests to ClusterIPs) is always admitted.
"${KUBECTL[@]}" apply -f - >/dev/null <<EOF || die "kube-router's RBAC"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "mlops:kube-router"}
rules:
  - {apiGroups: [""], resources: [namespaces, pods, services, nodes, endpoints], verbs: [get, list, watch]}
  - {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
  - {apiGroups: ["", events.k8s.io], resources: [events], verbs: [create, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "mlops:kube-router"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "mlops:kube-router"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "mlops:kube-router"}]
EOF
start kube-router "$KUBE_ROUTER" --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --kubeconfig="$NODE_DIR/kube-router.kubeconfig" --hostname-override="$NODE_NAME" \
  --service-cluster-ip-range=10.96.0.0/12 --health-port=20244 --metrics-port=0 --v=1
wait_for "kube-router healthy" curl -fsS --max-time 3 http://127.0.0.1:20244/healthz

# --- add-ons -----------------------------------------------------------------------------
sed -e "s|LOCAL_PATH_DIR|$NODE_DIR/volumes|" -e "s|BUSYBOX_IMAGE|$BUSYBOX_REF|g" \
  "$REPO_DIR/scripts/cluster/addons.yaml" >"$NODE_DIR/addons.yaml"
wait_for "add-ons applied" "${KUBECTL[@]}" apply -f "$NODE_DIR/addons.yaml"
wait_for "CoreDNS ready" "${KUBECTL[@]}" -n kube-system rollout status deploy/coredns --timeout=5s
wait_for "local-path-provisioner ready" "${KUBECTL[@]}" -n local-path-storage rollout status deploy/local-path-provisioner --timeout=5s
wait_for "default ServiceAccount" "${KUBECTL[@]}" -n default get serviceaccount default

log "cluster up: node $NODE_NAME ($NODE_IP), kubelet $("$BIN/kubelet" --version | cut -d' ' -f2), containerd $(containerd --version | cut -d' ' -f3)"
echo "KUBECONFIG=$CP_DIR/kubeconfig"
