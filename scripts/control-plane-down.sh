#!/usr/bin/env bash
# Stop the control plane started by scripts/control-plane-up.sh: signal exactly the pids
# recorded in its pid file (and only while they still run the recorded binary), wait for
# them to exit, then remove the state dir. Safe to run when nothing is running.
#
# Env: MLOPS_CP_DIR (default /tmp/mlops-cp), MLOPS_CP_KEEP=1 keeps the state dir (logs).
set -euo pipefail

CP_DIR="${MLOPS_CP_DIR:-/tmp/mlops-cp}"
PIDFILE="$CP_DIR/pids"
log() { echo "[control-plane-down] $*"; }

# Is PID alive (an exited, not yet reaped zombie counts as gone) and still the process we
# started (its executable is EXE; " (deleted)" if the binary was rebuilt since)?
ours() {
  local pid="$1" exe="$2" state cur
  state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  cur="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [ "$cur" = "$exe" ] || [ "$cur" = "$exe (deleted)" ]
}

# stop NAME PID EXE: SIGTERM, wait up to 30 s, then SIGKILL.
stop() {
  local name="$1" pid="$2" exe="$3" t0=$SECONDS
  ours "$pid" "$exe" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while ours "$pid" "$exe"; do
    if [ $((SECONDS - t0)) -ge 30 ]; then
      log "$name (pid $pid) still running 30s after SIGTERM: sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.2
  done
}

if [ ! -f "$PIDFILE" ]; then
  log "no pid file at $PIDFILE: nothing to stop"
else
  # Reverse start order, one at a time: kwok, scheduler, controller-manager, apiserver
  # (before etcd, so it can shut down cleanly), etcd.
  mapfile -t entries < <(tac "$PIDFILE")
  for e in "${entries[@]}"; do
    read -r name pid exe <<<"$e"
    stop "$name" "$pid" "$exe"
  done
  left=""
  for e in "${entries[@]}"; do
    read -r name pid exe <<<"$e"
    if ours "$pid" "$exe"; then left+=" $name($pid)"; fi
  done
  if [ -n "$left" ]; then
    echo "[control-plane-down] ERROR: still running:$left" >&2
    exit 1
  fi
  log "all processes stopped"
fi

if [ "${MLOPS_CP_KEEP:-0}" = 1 ]; then
  log "keeping $CP_DIR (MLOPS_CP_KEEP=1)"
elif [ -d "$CP_DIR" ]; then
  rm -rf "$CP_DIR"
  log "removed $CP_DIR"
fi
