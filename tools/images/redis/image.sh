# Redis from Debian bookworm's redis-server, tagged with its upstream version. bookworm's 7.0.15
# rather than trixie's 8.0.2: the pin (7.2.7) is a 7.x, 8.x is a new major under other
# licences (RSALv2/SSPLv1/AGPLv3 instead of BSD-3-Clause), and bookworm is this machine's own suite.
# Bump REDIS_DEBIAN_VERSION when the archive moves on (the build then fails: apt cannot find it).
REDIS_DEBIAN_VERSION="5:7.0.15-1~deb12u10"
REDIS_SUITE=bookworm
REDIS_PACKAGES=("redis-server=$REDIS_DEBIAN_VERSION" "redis-tools=$REDIS_DEBIAN_VERSION")
ref() {
  local v="${REDIS_DEBIAN_VERSION#*:}" # no epoch
  echo "docker.io/library/redis:${v%-*}-$REDIS_SUITE"
}
# Made only when the image is built (build.sh keys the archive by this recipe).
materialize() { debian_rootfs "$REDIS_SUITE" "$ctx/rootfs.tar" "${REDIS_PACKAGES[@]}"; }
