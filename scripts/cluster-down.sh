#!/usr/bin/env bash
# Stop the cluster of scripts/cluster-up.sh and remove every trace of it: containers and
# their shims, mounts, network namespaces, iptables rules of kube-proxy and the CNI plugins,
# the node bridge, the node's and control plane's processes and state. Safe to run when
# nothing (or only part of it) is running. The host's cgroup mounts are never touched.
#
# Env: MLOPS_CLUSTER_DIR (default /tmp/mlops-cluster), MLOPS_CLUSTER_KEEP=1 keeps the logs.
set -uo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${MLOPS_CLUSTER_DIR:-/tmp/mlops-cluster}"
NODE_DIR="$CLUSTER_DIR/node"
PIDFILE="$NODE_DIR/pids"
BRIDGE=mlops0
CONTAINERD_SOCK=/run/containerd/containerd.sock
log() { echo "[cluster-down] $*"; }

[ "$(id -u)" = 0 ] || { echo "[cluster-down] ERROR: run as root" >&2; exit 1; }

pid_of() { [ -f "$PIDFILE" ] && awk -v n="$1" '$1 == n { print $2 }' "$PIDFILE"; }
stop_pid() { # NAME PID
  local t0=$SECONDS
  [ -n "$2" ] && kill -0 "$2" 2>/dev/null || return 0
  kill -TERM "$2" 2>/dev/null
  while kill -0 "$2" 2>/dev/null; do
    [ $((SECONDS - t0)) -lt 20 ] || { log "$1 ignored SIGTERM for 20s: SIGKILL"; kill -KILL "$2" 2>/dev/null; sleep 1; break; }
    sleep 0.2
  done
  log "stopped $1 (pid $2)"
}

# 1. The kubelet first, so nothing restarts what is removed below.
stop_pid kubelet "$(pid_of kubelet)"

# 2. Every container and sandbox, through containerd while it runs.
if [ -S "$CONTAINERD_SOCK" ] && command -v ctr >/dev/null; then
  CTR=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
  for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
    "${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1
  done
  sleep 1
  for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$id" >/dev/null 2>&1; done
  for id in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers delete "$id" >/dev/null 2>&1; done
fi
stop_pid containerd "$(pid_of containerd)"
# Shims outlive containerd by design; ours name its socket.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done

# 3. kube-router (network policies), then its chains and ipsets; kube-proxy, then its rules
#    (--cleanup removes every chain it owns).
stop_pid kube-router "$(pid_of kube-router)"
KUBE_ROUTER="$(bash "$REPO_DIR/tools/kube-router/build.sh" --print-dir 2>/dev/null)/kube-router"
[ -x "$KUBE_ROUTER" ] && "$KUBE_ROUTER" --cleanup-config >/dev/null 2>&1
stop_pid kube-proxy "$(pid_of kube-proxy)"
BIN="$(bash "$REPO_DIR/tools/build-toolchain.sh" --print-bin-dir 2>/dev/null)"
[ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup >/dev/null 2>&1
# What is left: the kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY,
# KUBE-IPTABLES-HINT) and the CNI plugins' NAT and hostport chains (CNI-*), in both families:
# the jumps to them from the built-in chains first, then the chains.
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for table in raw mangle nat filter; do
    "$ipt" -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE|CNI)-' | sed 's/^-A/-D/' | while read -r rule; do
      eval "$ipt -t $table $rule" 2>/dev/null
    done
    chains="$("$ipt" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p')"
    for chain in $chains; do "$ipt" -t "$table" -F "$chain" 2>/dev/null; done
    for chain in $chains; do "$ipt" -t "$table" -X "$chain" 2>/dev/null; done
  done
done

# kube-router's ipsets, once no rule refers to them.
if command -v ipset >/dev/null; then
  for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-)'); do ipset destroy "$set" 2>/dev/null; done
fi

# 4. Mounts left by containers and the kubelet (deepest first), and pod network namespaces.
if [ -d "$NODE_DIR" ] || [ -d /run/containerd ]; then
  awk -v a="$NODE_DIR/" -v b="/run/containerd/" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
fi
for ns in /var/run/netns/cni-*; do
  [ -e "$ns" ] || continue
  umount -l "$ns" 2>/dev/null; rm -f "$ns"
done
rm -rf /run/containerd

# 5. The control plane, while the bridge still carries its address (the API server deletes its
#    lease through it on the way out).
MLOPS_CP_DIR="$CLUSTER_DIR/cp" MLOPS_CP_KEEP="${MLOPS_CLUSTER_KEEP:-0}" bash "$REPO_DIR/scripts/control-plane-down.sh"

# 6. The bridge (its veths went with the namespaces), then the state.
ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE" && log "removed bridge $BRIDGE"
if [ "${MLOPS_CLUSTER_KEEP:-0}" = 1 ]; then
  log "keeping $CLUSTER_DIR (MLOPS_CLUSTER_KEEP=1)"
else
  rm -rf "$CLUSTER_DIR" 2>/dev/null || { sleep 2; rm -rf "$CLUSTER_DIR"; }
  log "removed $CLUSTER_DIR"
fi
left="$(pgrep -a -f "$NODE_DIR|$CONTAINERD_SOCK" | grep -v -e "$$" -e pgrep || true)"
[ -z "$left" ] || { echo "[cluster-down] ERROR: still running: $left" >&2; exit 1; }
log "cluster down"
