# The MinIO client from tools/minio/build.sh on a minimal Debian bookworm with CA certificates.
# The module is untagged and the commit built is no mc release, so the tag is the
# pseudo-version built, not a RELEASE.* name.
mc_pin() { sed -n "s/^MC_VERSION=\"\(v[^\"]*\)\"\$/\1/p" "$repo/tools/minio/build.sh"; }
ref() { echo "quay.io/minio/mc:$(mc_pin)"; }
MC_SUITE=bookworm
MC_PACKAGES=(ca-certificates)
prepare() {
  local bin
  bin="$(bash "$repo/tools/minio/build.sh")"
  cp "$bin/mc" "$ctx/mc"
  go version -m "$ctx/mc" | grep -qP "^\tmod\tgithub.com/minio/mc\t\Q$(mc_pin)\E(\t|$)" \
    || { echo "images/build.sh: $bin/mc is not github.com/minio/mc@$(mc_pin)" >&2; exit 2; }
}
materialize() { debian_rootfs "$MC_SUITE" "$ctx/rootfs.tar" "${MC_PACKAGES[@]}"; }
