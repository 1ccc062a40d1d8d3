#!/usr/bin/env bash
# Usage: tools/images/build.sh NAME          -> prints the path of NAME's OCI archive
#        tools/images/build.sh --ref NAME    -> prints NAME's image reference only (no build)
#        tools/images/build.sh --list        -> prints every NAME
#
# Builds one image of the cluster tier with buildah (no registry, no daemon, nothing pulled)
# into ${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/images/NAME-<key>.tar (oci-archive),
# keyed by a hash of everything that goes into it (its recipe, its build context, the keys of
# the images it is built FROM), and reuses it. The archive carries the image's reference, so
# `ctr -n k8s.io images import` makes it available to the kubelet under that name.
#
# One directory per image, tools/images/NAME/, with image.sh (sourced) setting:
#   IMAGE_REF=registry/repo:tag     the reference (fully qualified: the CRI looks an
#                                   unqualified one up as docker.io/<name>)
#   IMAGE_BASES=(NAME ...)          images of this directory named by FROM: built first and
#                                   loaded into buildah's store (builds never pull)
#   IMAGE_DOCKERFILE=path           relative to the repository (default tools/images/NAME/Containerfile)
#   IMAGE_FILES=(path ...)          repository paths (git-tracked files only) copied into the
#                                   build context at the same relative paths
#   IMAGE_BUILD_ARGS=(K=V ...)      --build-arg values
#   prepare() { ...; }              optional: fills "$ctx" (the build context) with more files;
#                                   what it puts there is part of the key
#   materialize() { ...; }          optional: runs only when the image is built, after the key
#                                   is taken (e.g. a Debian root filesystem from mmdebstrap,
#                                   whose key is its recipe: suite and package list)
# and optionally `IMAGE_REF` computed by a function `ref()` instead.
#
# Build steps that install packages (apt, pip, npm) reach the same registries as this machine:
# its CA bundle, pip.conf and npm's global npmrc are mounted read-only into RUN steps (never
# copied into an image; buildah leaves an empty file at each mount point the image lacked, e.g.
# an empty /etc/pip.conf).
set -euo pipefail
only_ref=0
case "${1:-}" in
  --ref) only_ref=1; shift ;;
  --list) for d in "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"/*/image.sh; do basename "$(dirname "$d")"; done; exit 0 ;;
esac
name="${1:?usage: tools/images/build.sh [--ref] NAME}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ -f "$here/$name/image.sh" ] || { echo "images/build.sh: no image '$name' (tools/images/$name/image.sh)" >&2; exit 2; }

IMAGE_REF="" IMAGE_BASES=() IMAGE_DOCKERFILE="" IMAGE_FILES=() IMAGE_BUILD_ARGS=()
prepare() { :; }
materialize() { :; }
# shellcheck source=tools/images/lib.sh
source "$here/lib.sh"
# shellcheck source=/dev/null
source "$here/$name/image.sh"
if declare -F ref >/dev/null; then IMAGE_REF="$(ref)"; fi
[ -n "$IMAGE_REF" ] || { echo "images/build.sh: tools/images/$name/image.sh sets no IMAGE_REF" >&2; exit 2; }
if [ "$only_ref" = 1 ]; then echo "$IMAGE_REF"; exit 0; fi
command -v buildah >/dev/null || { echo "images/build.sh: buildah is required (apt-get install buildah)" >&2; exit 2; }

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}"
mkdir -p "$root/images"
store=(--root "$root/images/buildah/storage" --runroot "$root/images/buildah/run" --storage-driver vfs)

# Bases first (each prints its archive); their archives' names carry their keys.
base_tars=()
for b in "${IMAGE_BASES[@]}"; do base_tars+=("$(bash "$here/build.sh" "$b")"); done

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
dockerfile="${IMAGE_DOCKERFILE:-tools/images/$name/Containerfile}"
[ -f "$repo/$dockerfile" ] || { echo "images/build.sh: $dockerfile does not exist" >&2; exit 2; }
if [ "${#IMAGE_FILES[@]}" -gt 0 ]; then
  # Tracked files only: node_modules, dist and caches never reach a build context.
  (cd "$repo" && git ls-files -z -- "${IMAGE_FILES[@]}" | tar --null -T - -cf -) | tar -xf - -C "$ctx"
fi
for f in "$here/$name"/*; do
  case "$(basename "$f")" in image.sh) ;; *) [ -e "$ctx/$(basename "$f")" ] || cp -a "$f" "$ctx/" ;; esac
done
prepare
cp "$repo/$dockerfile" "$ctx/.Containerfile"

key="$( (cd "$ctx" && find . -type f -o -type l | LC_ALL=C sort | while read -r f; do
  if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f $(stat -c %a "$f") $(sha256sum <"$f" | cut -c1-64)"; fi; done
  echo "$IMAGE_REF ${IMAGE_BUILD_ARGS[*]}"; for t in "${base_tars[@]}"; do basename "$t"; done
  # The recipe itself (image.sh is not in the context): what materialize() fetches is keyed by it.
  cat "$here/$name/image.sh" "$here/lib.sh" | sha256sum) | sha256sum | cut -c1-12)"
out="$root/images/$name-$key.tar"
if [ -s "$out" ]; then echo "$out"; exit 0; fi

exec 9>"$root/images/.lock"; flock 9
if [ -s "$out" ]; then echo "$out"; exit 0; fi
t0=$(date +%s)
materialize
for t in "${base_tars[@]}"; do
  buildah "${store[@]}" pull --quiet "oci-archive:$t" >/dev/null
done
mounts=()
for f in /etc/ssl/certs/ca-certificates.crt /etc/pip.conf; do
  [ -f "$f" ] && mounts+=(--volume "$f:$f:ro")
done
# npm reads its global npmrc at <its prefix>/etc/npmrc: /usr for a Debian-packaged node, /usr/local
# in the official node image's layout (tools/images/node), whose npm never looks at /usr/etc.
if [ -f /usr/etc/npmrc ]; then
  mounts+=(--volume /usr/etc/npmrc:/usr/etc/npmrc:ro --volume /usr/etc/npmrc:/usr/local/etc/npmrc:ro)
fi
args=()
for a in "${IMAGE_BUILD_ARGS[@]}"; do args+=(--build-arg "$a"); done
echo "images/build.sh: building $name ($IMAGE_REF)" >&2
buildah "${store[@]}" bud --quiet --isolation chroot --layers=false --pull-never "${mounts[@]}" "${args[@]}" \
  -f "$ctx/.Containerfile" -t "$IMAGE_REF" "$ctx" >&2
buildah "${store[@]}" push --quiet "$IMAGE_REF" "oci-archive:$out.tmp:$IMAGE_REF" >&2
buildah "${store[@]}" rmi --all --force >/dev/null 2>&1 || true
mv "$out.tmp" "$out"
# Older builds of this image (other keys) are superseded: keep the cache from growing.
find "$root/images" -maxdepth 1 -regextype posix-extended -regex ".*/$name-[0-9a-f]{12}\.tar" ! -path "$out" -delete
echo "images/build.sh: $name ($IMAGE_REF) built in $(( $(date +%s) - t0 ))s: $out" >&2
echo "$out"
