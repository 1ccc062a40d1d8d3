# Sourced by the tools/*/build.sh scripts: `go install` of pinned modules into a cache directory
# (go_install_cached), or `go build` through a wrapper module (go_build_wrapped, at the end).
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

# go_build_wrapped NAME OUT MODULE@VERSION PACKAGE...
#
# For a module whose go.mod has `replace` lines, which `go install mod@version` refuses: a fresh
# wrapper module (its go.mod copies MODULE's non-local replace lines, as building inside
# MODULE would apply them), `go get PACKAGE@VERSION` for each package (MODULE's own go.mod
# picks every dependency's version), then `go build` of each into OUT under the package's
# last path element. The binary must contain MODULE at VERSION (`go version -m`), so a pin
# can never quietly fall back to another version. Extra `go build` flags come from the array
# GO_BUILD_FLAGS when the caller sets it. Skipped when OUT/.complete exists.
#
# With MLOPS_GO_INSTALL_CHECK=1: the same `go get` commands offline in an empty wrapper
# (GOPROXY=off, empty module cache), which a well-formed command fails only at its lookup.
go_build_wrapped() {
  local name="$1" out="$2" modver="$3" check="${MLOPS_GO_INSTALL_CHECK:-0}"
  shift 3
  [ $# -gt 0 ] || { echo "$name: go_build_wrapped needs MODULE@VERSION and at least one PACKAGE" >&2; return 2; }
  command -v go >/dev/null || { echo "$name: the Go toolchain (go) is required" >&2; return 2; }
  [ "$check" = 1 ] || [ ! -f "$out/.complete" ] || return 0
  if ! [[ "$modver" =~ ^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)*@v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    echo "$name: '$modver' is not MODULE@vX.Y.Z (an exact pin)" >&2; return 1
  fi
  local mod="${modver%@*}" ver="${modver#*@}" pkg err rc=0 start t w
  local env=(CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local GOWORK=off)
  start=$(date +%s)
  w="$(mktemp -d)"
  printf 'module mlops-build/%s\n\ngo %s\n' "${mod##*/}" "$(go env GOVERSION | grep -oE '^go[0-9]+\.[0-9]+' | cut -c3-)" >"$w/go.mod"
  if [ "$check" = 1 ]; then
    env+=(GOMODCACHE="$w/mod" GOPROXY=off)
    for pkg in "$@"; do
      if [ "$pkg" != "$mod" ] && [ "${pkg#"$mod"/}" = "$pkg" ]; then
        echo "$name: package '$pkg' is not in module $mod" >&2; rc=1; continue
      fi
      if err="$(cd "$w" && env "${env[@]}" go get "$pkg@$ver" 2>&1)"; then
        echo "$name: 'go get $pkg@$ver' unexpectedly succeeded offline" >&2; rc=1
      elif grep -q 'module lookup disabled by GOPROXY=off' <<<"$err"; then
        echo "$name: ok: go get $pkg@$ver (wrapper module)" >&2
      else
        echo "$name: 'go get $pkg@$ver' is malformed: $err" >&2; rc=1
      fi
    done
    chmod -R u+w "$w" 2>/dev/null; rm -rf "$w"
    return "$rc"
  fi
  (
    set -e
    cd "$w"
    local gomod old oldv new newv
    gomod="$(env "${env[@]}" go mod download -json "$modver" | jq -r .GoMod)"
    while read -r old oldv new newv; do
      [ -n "$old" ] || continue
      case "$new" in ./*|../*) echo "$name: $modver has a local replace ($old => $new): not supported" >&2; exit 2 ;; esac
      [ "$oldv" = "-" ] || old="$old@$oldv"
      [ "$newv" = "-" ] || new="$new@$newv"
      go mod edit -replace="$old=$new"
    done < <(go mod edit -json "$gomod" | jq -r '(.Replace // [])[] | "\(.Old.Path) \(.Old.Version // "-") \(.New.Path) \(.New.Version // "-")"')
    mkdir -p "$out"
    rm -f "$out/.complete"
    for pkg in "$@"; do
      echo "$name: building $pkg@$ver into $out (wrapper module)" >&2
      t=$(date +%s)
      env "${env[@]}" go get "$pkg@$ver" >&2
      env "${env[@]}" go build "${GO_BUILD_FLAGS[@]}" -o "$out/.${pkg##*/}.tmp" "$pkg" >&2
      if ! go version -m "$out/.${pkg##*/}.tmp" | grep -qP "^\t(mod|dep)\t\Q$mod\E\t\Q$ver\E(\t|$)"; then
        echo "$name: $out/${pkg##*/} does not contain $mod $ver" >&2; rm -f "$out/.${pkg##*/}.tmp"; exit 1
      fi
      mv -f "$out/.${pkg##*/}.tmp" "$out/${pkg##*/}"
      echo "$name: $pkg@$ver built in $(( $(date +%s) - t ))s" >&2
    done
  ) || rc=$?
  chmod -R u+w "$w" 2>/dev/null; rm -rf "$w"
  [ "$rc" -eq 0 ] || return "$rc"
  touch "$out/.complete"
  echo "$name: built in $(( $(date +%s) - start ))s" >&2
}
