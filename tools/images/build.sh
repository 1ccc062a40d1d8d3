#!/usr/bin/env bash
# Usage: tools/images/build.sh NAME   -> prints the path of NAME's OCI archive
# Builds one of the cluster tier's infrastructure images with buildah (no registry, no
# daemon) from tools/images/NAME/Containerfile, into
#   ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/images/NAME-<key>.tar   (oci-archive)
# keyed by a hash of the Containerfile and everything copied into the image, and reuses it.
# The archive carries the image's reference (e.g. registry.k8s.io/pause:3.10), so
# `ctr -n k8s.io images import` makes it available to the kubelet under that name.
#   pause                   the pod sandbox (pause.c, compiled statically here)
#   busybox                 Debian's busybox-static with its applet links
#   coredns, local-path-provisioner   from tools/node-addons/build.sh
#
#   tools/images/build.sh --ref NAME    -> prints NAME's image reference only (no build)
set -euo pipefail
only_ref=0
if [ "${1:-}" = --ref ]; then only_ref=1; shift; fi
name="${1:?usage: tools/images/build.sh [--ref] NAME}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -f "$here/$name/Containerfile" ] || { echo "images/build.sh: no image '$name' (tools/images/$name/Containerfile)" >&2; exit 2; }

# Debian's busybox-static, by its own version (read whole: a closed pipe would fail it).
busybox_version() {
  local banner
  banner="$(/bin/busybox --help 2>&1 || true)"
  banner="${banner%%$'\n'*}"
  [[ "$banner" =~ ^BusyBox\ v([0-9.]+) ]] || { echo "images/build.sh: /bin/busybox is not Debian's busybox-static (apt-get install busybox-static)" >&2; return 2; }
  echo "${BASH_REMATCH[1]}"
}
ref_of() {
  case "$1" in
    pause) echo registry.k8s.io/pause:3.10 ;;
    # Fully qualified: the CRI looks an unqualified reference up as docker.io/<name>.
    busybox) echo "docker.io/mlops-local/busybox:$(busybox_version)" ;;
    coredns) echo registry.k8s.io/coredns/coredns:v1.15.0 ;;
    local-path-provisioner) echo docker.io/rancher/local-path-provisioner:v0.0.30 ;;
    *) echo "images/build.sh: no recipe for '$1'" >&2; return 2 ;;
  esac
}
ref="$(ref_of "$name")"
if [ "$only_ref" = 1 ]; then echo "$ref"; exit 0; fi
command -v buildah >/dev/null || { echo "images/build.sh: buildah is required (apt-get install buildah)" >&2; exit 2; }

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
mkdir -p "$root/images"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$here/$name/Containerfile" "$ctx/"

case "$name" in
  pause)
    command -v gcc >/dev/null || { echo "images/build.sh: gcc is required for pause" >&2; exit 2; }
    gcc -static -Os -Wall -Werror -o "$ctx/pause" "$here/pause/pause.c"
    strip "$ctx/pause" ;;
  busybox)
    ldd /bin/busybox >/dev/null 2>&1 && { echo "images/build.sh: /bin/busybox is not static (install busybox-static)" >&2; exit 2; }
    mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
    cp /bin/busybox "$ctx/rootfs/bin/busybox"
    "$ctx/rootfs/bin/busybox" --install -s "$ctx/rootfs/bin"
    # install -s links to the absolute path of the binary it ran as; point them at /bin/busybox.
    for l in "$ctx"/rootfs/bin/*; do [ -L "$l" ] && ln -sf /bin/busybox "$l"; done
    chmod 1777 "$ctx/rootfs/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$ctx/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/rootfs/etc/group" ;;
  coredns|local-path-provisioner)
    addons="$(bash "$here/../node-addons/build.sh")"
    cp "$addons/$name" "$ctx/$name" ;;
esac

key="$( (cd "$ctx" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
  if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(sha256sum <"$f" | cut -c1-64)"; fi; done; echo "$ref") | sha256sum | cut -c1-12)"
out="$root/images/$name-$key.tar"
if [ -s "$out" ]; then echo "$out"; exit 0; fi

exec 9>"$root/images/.lock"; flock 9
t0=$(date +%s)
store=(--root "$root/images/buildah/storage" --runroot "$root/images/buildah/run" --storage-driver vfs)
buildah "${store[@]}" bud --quiet --isolation chroot --layers=false -f "$ctx/Containerfile" -t "$ref" "$ctx" >&2
buildah "${store[@]}" push --quiet "$ref" "oci-archive:$out.tmp:$ref" >&2
buildah "${store[@]}" rmi "$ref" >/dev/null 2>&1 || true
mv "$out.tmp" "$out"
echo "images/build.sh: $name ($ref) built in $(( $(date +%s) - t0 ))s: $out" >&2
echo "$out"
