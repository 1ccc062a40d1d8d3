# Sourced by the tools/*/build.sh scripts: `go install` of pinned modules into a cache directory.
#
#   go_install_cached NAME OUT MODULE@VERSION...
#
# Installs every MODULE@VERSION into OUT unless OUT/.complete exists (a finished earlier
# build), then marks OUT complete. Progress goes to stderr, prefixed with NAME. Works only for
# modules whose go.mod has no `replace` lines (plain `go install mod@version`).
#
# `go install` takes several MODULE@VERSION arguments only when they name packages of one
# module at one version, so each argument gets its own `go install`. (A warm cache never runs
# these commands; that is how a two-module call once went unnoticed, see tools/README.md.)
#
# With MLOPS_GO_INSTALL_CHECK=1 nothing is built or downloaded: the same commands run with
# GOPROXY=off against an empty module cache, where a well-formed command can only fail at its
# module lookup. Any other error (a malformed argument, arguments go refuses to combine), or a
# version that is not an exact semantic or pseudo-version, fails the check. The unit tier runs
# every recipe this way (tests/tools.test.ts).
go_install_cached() {
  local name="$1" out="$2" check="${MLOPS_GO_INSTALL_CHECK:-0}"
  shift 2
  [ $# -gt 0 ] || { echo "$name: go_install_cached needs at least one MODULE@VERSION" >&2; return 2; }
  command -v go >/dev/null || { echo "$name: the Go toolchain (go) is required" >&2; return 2; }
  [ "$check" = 1 ] || [ ! -f "$out/.complete" ] || return 0

  local start arg t err rc=0 scratch="" env=(CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local GOWORK=off)
  start=$(date +%s)
  if [ "$check" = 1 ]; then
    scratch="$(mktemp -d)"
    env+=(GOMODCACHE="$scratch/mod" GOPROXY=off GOBIN="$scratch/bin")
  else
    mkdir -p "$out"
    rm -f "$out/.complete"
    env+=(GOBIN="$out")
  fi
  for arg in "$@"; do
    if ! [[ "$arg" =~ ^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)*@v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
      echo "$name: '$arg' is not MODULE@vX.Y.Z (an exact pin)" >&2
      rc=1; continue
    fi
    if [ "$check" = 1 ]; then
      # -n: print the build commands instead of running them (offline it stops at the lookup).
      if err="$(cd "$scratch" && env "${env[@]}" go install -n "$arg" 2>&1)"; then
        echo "$name: 'go install $arg' unexpectedly succeeded offline" >&2; rc=1
      elif grep -q 'module lookup disabled by GOPROXY=off' <<<"$err"; then
        echo "$name: ok: go install $arg" >&2
      else
        echo "$name: 'go install $arg' is malformed: $err" >&2; rc=1
      fi
      continue
    fi
    t=$(date +%s)
    echo "$name: building $arg into $out" >&2
    # Go's default -p (one job per core): these builds run when nothing else does (a cold CI
    # run, or a developer's first run of a tier), so both cores go to them.
    env "${env[@]}" go install "$arg" >&2 || return
    echo "$name: $arg built in $(( $(date +%s) - t ))s" >&2
  done
  if [ "$check" = 1 ]; then
    chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"
    return "$rc"
  fi
  [ "$rc" -eq 0 ] || return "$rc"
  touch "$out/.complete"
  echo "$name: built in $(( $(date +%s) - start ))s" >&2
}
