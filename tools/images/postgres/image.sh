# PostgreSQL 17 from Debian trixie (Debian 13), behind our own docker-entrypoint.sh that keeps
# the docker-library postgres image's contract (config/image-contracts.ts). The tag is the
# upstream version of the pinned Debian package, so it names what the image runs.
# Bump PG_DEBIAN_VERSION when the archive moves on (the build then fails: apt cannot find it).
PG_MAJOR=17
PG_DEBIAN_VERSION="17.12-0+deb13u1"
PG_SUITE=trixie
PG_PACKAGES=(
  "postgresql-$PG_MAJOR=$PG_DEBIAN_VERSION"
  libnss-wrapper # initdb for a uid without a passwd entry
  xz-utils zstd  # initdb.d/*.sql.xz, *.sql.zst (gzip is essential)
)
ref() {
  local v="${PG_DEBIAN_VERSION#*:}" # no epoch
  echo "docker.io/library/postgres:${v%-*}-$PG_SUITE"
}
IMAGE_BUILD_ARGS=("PG_MAJOR=$PG_MAJOR")
# Made only when the image is built (build.sh keys the archive by this recipe).
materialize() { debian_rootfs "$PG_SUITE" "$ctx/rootfs.tar" "${PG_PACKAGES[@]}"; }
