# The MinIO server (and mc beside it, as upstream's image ships both) from tools/minio/build.sh,
# on a minimal Debian bookworm with CA certificates. The module is untagged and the commit
# built is no MinIO release, so the tag is the pseudo-version built, not a RELEASE.* name.
minio_pin() { sed -n "s/^$1=\"\(v[^\"]*\)\"\$/\1/p" "$repo/tools/minio/build.sh"; }
ref() { echo "quay.io/minio/minio:$(minio_pin MINIO_VERSION)"; }
MINIO_SUITE=bookworm
MINIO_PACKAGES=(ca-certificates)
prepare() {
  local bin mod
  bin="$(bash "$repo/tools/minio/build.sh")"
  mkdir -p "$ctx/bin"
  cp "$bin/minio" "$bin/mc" "$ctx/bin/"
  for mod in "minio MINIO_VERSION" "mc MC_VERSION"; do
    set -- $mod
    go version -m "$ctx/bin/$1" | grep -qP "^\tmod\tgithub.com/minio/$1\t\Q$(minio_pin "$2")\E(\t|$)" \
      || { echo "images/build.sh: $bin/$1 is not github.com/minio/$1@$(minio_pin "$2")" >&2; exit 2; }
  done
}
materialize() { debian_rootfs "$MINIO_SUITE" "$ctx/rootfs.tar" "${MINIO_PACKAGES[@]}"; }
