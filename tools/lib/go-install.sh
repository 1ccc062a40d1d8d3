# Sourced by the tools/*/build.sh scripts: `go install` of pinned modules into a cache directory.
#
#   go_install_cached NAME OUT MODULE@VERSION...
#
# Installs every MODULE@VERSION into OUT unless OUT/.complete exists (a finished earlier
# build), then marks OUT complete. Progress goes to stderr, prefixed with NAME. Works only for
# modules whose go.mod has no `replace` lines (plain `go install mod@version`).
go_install_cached() {
  local name="$1" out="$2"
  shift 2
  [ -f "$out/.complete" ] && return 0
  command -v go >/dev/null || { echo "$name: the Go toolchain (go) is required" >&2; return 2; }
  local start
  start=$(date +%s)
  mkdir -p "$out"
  echo "$name: building $* into $out" >&2
  # -p 1 keeps one core free for everyone else's work on a 2-core machine.
  GOBIN="$out" CGO_ENABLED=0 GOFLAGS="-trimpath -p=1" GOTOOLCHAIN=local \
    nice -n 10 go install "$@" >&2
  touch "$out/.complete"
  echo "$name: built in $(( $(date +%s) - start ))s" >&2
}
