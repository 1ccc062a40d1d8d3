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

# Is PID alive and still the process we started (its executable is EXE)?
ours() {
  local pid="$1" exe="$2"
  kill -0 "$pid" 2>/dev/null || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ]
}

if [ ! -f "$PIDFILE" ]; then
  log "no pid file at $PIDFILE: nothing to stop"
else
  # Stop in reverse start order: kwok, scheduler, controller-manager, apiserver, etcd.
  mapfile -t entries < <(tac "$PIDFILE")
  for e in "${entries[@]}"; do
    read -r name pid exe <<<"$e"
    if ours "$pid" "$exe"; then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + 30))
  for e in "${entries[@]}"; do
    read -r name pid exe <<<"$e"
    while ours "$pid" "$exe"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "$name (pid $pid) did not exit after SIGTERM: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
        break
      fi
      sleep 0.2
    done
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
