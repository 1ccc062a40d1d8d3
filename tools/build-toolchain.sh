#!/usr/bin/env bash
# Build the engine-tier toolchain (Pulumi CLI + providers, Kubernetes control plane,
# etcd, kwok) from Go modules with the ordinary `go` client, into a cache directory
# outside the repository keyed by the pinned versions (tools/versions.env).
#
#   bash tools/build-toolchain.sh                 # build what is missing, print bin dir
#   bash tools/build-toolchain.sh --print-bin-dir # only print the bin dir (no build)
#   bash tools/build-toolchain.sh --print-dir     # only print the keyed cache dir
#   eval "$(bash tools/build-toolchain.sh --print-env)"  # PATH, PULUMI_HOME & co. (no build)
#   bash tools/build-toolchain.sh --only NAME[,NAME...]  # build a subset of targets
#
# Env: MLOPS_TOOLCHAIN_DIR (default $HOME/.cache/mlops-platform/toolchain).
# Go's own caches (GOMODCACHE, GOCACHE) keep their defaults, so a second run is warm.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSIONS_FILE="$SCRIPT_DIR/versions.env"
# shellcheck source=versions.env
source "$VERSIONS_FILE"

TOOLCHAIN_ROOT="${MLOPS_TOOLCHAIN_DIR:-$HOME/.cache/mlops-platform/toolchain}"
KEY="$(sha256sum "$VERSIONS_FILE" | cut -c1-12)"
CACHE_DIR="$TOOLCHAIN_ROOT/$KEY"
BIN_DIR="$CACHE_DIR/bin"

ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --print-bin-dir) echo "$BIN_DIR"; exit 0 ;;
    --print-dir) echo "$CACHE_DIR"; exit 0 ;;
    --print-env)
      # The plugins are installed in this PULUMI_HOME; with automatic acquisition off the
      # engine never tries a download. Backend and passphrase are the caller's business.
      printf 'export PATH=%q:"$PATH"\n' "$BIN_DIR"
      printf 'export PULUMI_HOME=%q\n' "$CACHE_DIR/pulumi-home"
      echo 'export PULUMI_SKIP_UPDATE_CHECK=1'
      echo 'export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true'
      exit 0 ;;
    --only) ONLY="${2:?--only needs a value}"; shift ;;
    --only=*) ONLY="${1#--only=}" ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build-toolchain: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "build-toolchain: ERROR: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is not on PATH"
command -v flock >/dev/null || die "flock (util-linux) is not on PATH"

mkdir -p "$BIN_DIR" "$CACHE_DIR/work" "$CACHE_DIR/logs"
# One builder at a time per cache dir.
exec 9>"$CACHE_DIR/.lock"
flock 9

export CGO_ENABLED=0
export GOTOOLCHAIN=local
export GOFLAGS="-mod=mod"
# Keep go from inheriting a go.work of whatever directory we run from.
export GOWORK=off

# pulumi-resource-random is not a target: the module proxy serves no version of
# github.com/pulumi/pulumi-random/provider/v4 (see tools/README.md).
# kubelet and kube-proxy run the real node of the cluster tier (scripts/node-up.sh).
TARGETS=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes
         etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok
         kubelet kube-proxy)
TOTAL=${#TARGETS[@]}
FAILED=0
START_ALL=$SECONDS

# --- helpers -------------------------------------------------------------------

# Path of MODULE@VERSION's go.mod in the module cache (downloads it if needed).
gomod_of() {
  local out
  out="$(go mod download -json "$1@$2")" || die "go mod download $1@$2 failed:
$out"
  jq -r '.GoMod' <<<"$out"
}

# Source dir of MODULE@VERSION in the module cache.
moddir_of() {
  local out
  out="$(go mod download -json "$1@$2")" || die "go mod download $1@$2 failed:
$out"
  jq -r '.Dir' <<<"$out"
}

# Print the replace directives of a go.mod as "OLD_PATH OLD_VER NEW_PATH NEW_VER"
# (empty versions as "-").
replaces_of() {
  go mod edit -json "$1" | jq -r '(.Replace // [])[] |
    "\(.Old.Path) \(.Old.Version // "-") \(.New.Path) \(.New.Version // "-")"'
}

# copy_replaces MODULE VERSION LOCAL_VERSION
# Copy the replaces of MODULE@VERSION's go.mod into the wrapper (in the cwd).
# Local path replaces (./x, ../x) are re-pointed at the published module at
# LOCAL_VERSION, as `go build` would otherwise need the repository checkout.
# Replaces into a FORBIDDEN_DEPENDENCY folder (etcd's guard rails) are dropped.
copy_replaces() {
  local gomod reps local_version="$3" old oldv new newv spec
  gomod="$(gomod_of "$1" "$2")"
  reps="$(replaces_of "$gomod")"
  while read -r old oldv new newv; do
    [ -n "$old" ] || continue
    spec="$old"; [ "$oldv" = "-" ] || spec="$old@$oldv"
    case "$new" in
      *FORBIDDEN_DEPENDENCY*) continue ;;
      ./*|../*)
        [ -n "$local_version" ] || die "$gomod: local replace $old => $new and no version to map it to"
        go mod edit -replace="$spec=$old@$local_version" ;;
      *)
        if [ "$newv" = "-" ]; then go mod edit -replace="$spec=$new"
        else go mod edit -replace="$spec=$new@$newv"; fi ;;
    esac
  done <<<"$reps"
}

# Fresh wrapper module dir for a target; prints its path.
new_wrapper() {
  local dir="$CACHE_DIR/work/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  printf 'module mlops-toolchain/%s\n\ngo 1.26\n' "$1" >"$dir/go.mod"
  echo "$dir"
}

# gobuild OUT_NAME LDFLAGS PACKAGE MODULE VERSION
# go build into bin/ atomically, after checking that the binary really contains
# MODULE at VERSION (so a failed pin can never fall back to another version).
gobuild() {
  local out="$1" ldflags="$2" pkg="$3" mod="$4" ver="$5" tmp="$BIN_DIR/.$1.tmp"
  go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg"
  if ! go version -m "$tmp" | grep -qP "^\t(mod|dep)\t\Q$mod\E\t\Q$ver\E(\t|$)"; then
    go version -m "$tmp" | grep -F "$mod" || true
    rm -f "$tmp"
    die "$out: binary does not contain $mod $ver"
  fi
  mv -f "$tmp" "$BIN_DIR/$out"
}

# --- targets -------------------------------------------------------------------

build_pulumi() {
  local v="$PULUMI_VERSION" w
  w="$(new_wrapper pulumi)"; cd "$w"
  copy_replaces github.com/pulumi/pulumi/pkg/v3 "$v" "$v"
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$v" "github.com/pulumi/pulumi/sdk/v3@$v"
  gobuild pulumi "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi github.com/pulumi/pulumi/pkg/v3 "$v"
}

# The language host's own module (sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served
# by the module proxy at any version. Up to sdk/v3 v3.68.0 the host was a package inside
# the sdk/v3 module itself, which is served: build it from there (see tools/README.md).
build_pulumi-language-nodejs() {
  local v="$PULUMI_LANGUAGE_NODEJS_SDK_VERSION" w
  local pkg=github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
  w="$(new_wrapper pulumi-language-nodejs)"; cd "$w"
  copy_replaces github.com/pulumi/pulumi/sdk/v3 "$v" "$v"
  go get "$pkg@$v"
  gobuild pulumi-language-nodejs "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    "$pkg" github.com/pulumi/pulumi/sdk/v3 "$v"
}

build_pulumi-resource-kubernetes() {
  local w src
  w="$(new_wrapper pulumi-resource-kubernetes)"; cd "$w"
  copy_replaces "$PULUMI_K8S_MODULE" "$PULUMI_K8S_MODULE_VERSION" "$PULUMI_K8S_SDK_VERSION"
  go get "$PULUMI_K8S_MODULE@$PULUMI_K8S_MODULE_VERSION" \
    "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_K8S_SDK_VERSION"
  # main.go embeds schema-embed.json / terraform-mapping-embed.json, generated from the
  # committed schema.json by generate.go and absent from the module zip.
  src="$(moddir_of "$PULUMI_K8S_MODULE" "$PULUMI_K8S_MODULE_VERSION")/cmd/pulumi-resource-kubernetes"
  mkdir -p cmd; cp -r "$src" cmd/; chmod -R u+w cmd
  (cd cmd/pulumi-resource-kubernetes && VERSION="$PULUMI_K8S_PLUGIN_VERSION" go run generate.go)
  [ -s cmd/pulumi-resource-kubernetes/schema-embed.json ] || die "schema-embed.json not generated"
  gobuild pulumi-resource-kubernetes \
    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_K8S_PLUGIN_VERSION" \
    ./cmd/pulumi-resource-kubernetes "$PULUMI_K8S_MODULE" "$PULUMI_K8S_MODULE_VERSION"
}

build_etcd() {
  local v="$ETCD_VERSION" w
  w="$(new_wrapper etcd)"; cd "$w"
  copy_replaces go.etcd.io/etcd/server/v3 "$v" "$v"
  go get "go.etcd.io/etcd/server/v3@$v"
  gobuild etcd "" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3 "$v"
}

# All four Kubernetes binaries share one wrapper module (same dependency set).
k8s_wrapper() {
  local v="$KUBERNETES_VERSION" w="$CACHE_DIR/work/kubernetes"
  if [ ! -f "$w/.ready" ]; then
    w="$(new_wrapper kubernetes)"; cd "$w"
    # staging modules: k8s.io/X => ./staging/src/k8s.io/X  becomes  k8s.io/X v0.<minor>.<patch>
    copy_replaces k8s.io/kubernetes "$v" "v0.${v#v1.}"
    go get "k8s.io/kubernetes@$v"
    touch .ready
  fi
  cd "$w"
}

k8s_ldflags() {
  local v="$KUBERNETES_VERSION" minor p f=""
  minor="$(cut -d. -f2 <<<"$v")"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    f+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$f"
}

build_k8s() { # NAME
  k8s_wrapper
  gobuild "$1" "$(k8s_ldflags)" "k8s.io/kubernetes/cmd/$1" k8s.io/kubernetes "$KUBERNETES_VERSION"
}
build_kube-apiserver() { build_k8s kube-apiserver; }
build_kube-controller-manager() { build_k8s kube-controller-manager; }
build_kube-scheduler() { build_k8s kube-scheduler; }
build_kubectl() { build_k8s kubectl; }
build_kubelet() { build_k8s kubelet; }
build_kube-proxy() { build_k8s kube-proxy; }

build_kwok() {
  local v="$KWOK_VERSION" w src
  w="$(new_wrapper kwok)"; cd "$w"
  copy_replaces sigs.k8s.io/kwok "$v" "$v"
  go get "sigs.k8s.io/kwok/cmd/kwok@$v"
  gobuild kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=$v" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok "$v"
  # kwok v0.8 has no built-in stages. The module's kustomize/stage/fast is a kustomization
  # that only lists sibling folders (node/fast, node/heartbeat-with-lease, pod/fast):
  # resolve it and copy the stage YAMLs, plus one concatenated file for --config.
  src="$(moddir_of sigs.k8s.io/kwok "$v")/kustomize/stage"
  rm -rf "$CACHE_DIR/kwok-stages"; mkdir -p "$CACHE_DIR/kwok-stages/fast"
  local f n=0
  while read -r f; do
    n=$((n + 1))
    cp "$f" "$CACHE_DIR/kwok-stages/fast/$(basename "$f")"
    { echo "---"; cat "$f"; } >>"$CACHE_DIR/kwok-stages/fast.yaml"
  done < <(kustomize_files "$src/fast")
  chmod -R u+w "$CACHE_DIR/kwok-stages"
  [ "$n" -gt 0 ] || die "no kwok stage files found under $src/fast"
  echo "kwok stages: $n files"
}

# Files listed (recursively) by the `resources:` of DIR/kustomization.yaml.
kustomize_files() {
  local dir="$1" r
  while read -r r; do
    if [ -d "$dir/$r" ]; then kustomize_files "$dir/$r"
    elif [ -f "$dir/$r" ]; then realpath "$dir/$r"
    else die "kustomization in $dir lists missing $r"; fi
  done < <(awk '/^resources:/{on=1; next} /^[^ -]/{on=0} on && /^- /{print $2}' "$dir/kustomization.yaml")
}

# Everything a target produces besides its binary, for the "is it cached?" test.
extra_outputs() {
  case "$1" in
    kwok) echo "$CACHE_DIR/kwok-stages/fast.yaml" ;;
  esac
}

version_of() {
  case "$1" in
    pulumi) echo "$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "$PULUMI_LANGUAGE_NODEJS_SDK_VERSION (sdk/v3)" ;;
    pulumi-resource-kubernetes) echo "v$PULUMI_K8S_PLUGIN_VERSION ($PULUMI_K8S_MODULE_VERSION)" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    *) echo "$KUBERNETES_VERSION" ;;
  esac
}

# --- main ----------------------------------------------------------------------

echo "toolchain cache: $CACHE_DIR ($(go env GOVERSION), GOMODCACHE=$(go env GOMODCACHE))"
i=0
for t in "${TARGETS[@]}"; do
  i=$((i + 1))
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$t,"* ]]; then continue; fi
  label="[$i/$TOTAL] $t $(version_of "$t")"
  extra="$(extra_outputs "$t")"
  if [ -x "$BIN_DIR/$t" ] && { [ -z "$extra" ] || [ -e "$extra" ]; }; then
    echo "$label ... cached"
    continue
  fi
  echo "$label ... building (log: $CACHE_DIR/logs/$t.log)"
  t0=$SECONDS
  # errexit is switched on again inside the subshell, which is not part of an `if`/`||`
  # (where bash would ignore it): any failing step fails the target.
  set +e
  ( set -e; "build_$t" ) >"$CACHE_DIR/logs/$t.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ] && [ -x "$BIN_DIR/$t" ]; then
    echo "$label ... built in $((SECONDS - t0))s"
  else
    echo "$label ... FAILED after $((SECONDS - t0))s; last lines of $CACHE_DIR/logs/$t.log:" >&2
    tail -n 25 "$CACHE_DIR/logs/$t.log" | sed 's/^/    /' >&2
    FAILED=$((FAILED + 1))
  fi
done

# Install the providers into an isolated PULUMI_HOME so the engine never downloads.
if [ -x "$BIN_DIR/pulumi" ]; then
  export PULUMI_HOME="$CACHE_DIR/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=1
  for p in kubernetes:"$PULUMI_K8S_PLUGIN_VERSION"; do
    name="${p%%:*}" ver="${p#*:}"
    [ -n "$ver" ] && [ -x "$BIN_DIR/pulumi-resource-$name" ] || continue
    if [ -x "$PULUMI_HOME/plugins/resource-$name-v$ver/pulumi-resource-$name" ]; then
      echo "plugin resource $name $ver ... installed"
      continue
    fi
    if "$BIN_DIR/pulumi" plugin install resource "$name" "$ver" \
        --file "$BIN_DIR/pulumi-resource-$name" >"$CACHE_DIR/logs/plugin-$name.log" 2>&1; then
      echo "plugin resource $name $ver ... installed into PULUMI_HOME=$PULUMI_HOME"
    else
      echo "plugin resource $name $ver ... FAILED:" >&2
      sed 's/^/    /' "$CACHE_DIR/logs/plugin-$name.log" >&2
      FAILED=$((FAILED + 1))
    fi
  done
fi

echo "total: $((SECONDS - START_ALL))s"
if [ "$FAILED" -gt 0 ]; then
  echo "build-toolchain: $FAILED step(s) FAILED (see above)" >&2
  exit 1
fi
echo "bin dir: $BIN_DIR"
