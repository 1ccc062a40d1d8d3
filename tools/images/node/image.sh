# Node.js 20.20.2 on Debian bookworm, in place of the official node:20.20.2-bookworm-slim
# (docker-node's 20/bookworm-slim): the same user (node 1000:1000, HOME /home/node), paths
# (/usr/local/bin/node, npm under /usr/local/lib/node_modules), ENTRYPOINT and CMD.
#
# Where node comes from: the Node.js release's Debian package (nodejs 20.20.2) that every
# machine of this kind has installed. Its apt repository is not among this machine's sources,
# so mmdebstrap cannot fetch it: the image takes that package's /usr/bin/node (checked against
# dpkg's md5sum, then stripped) and leaves the rest of the package out (its npm is replaced on
# these machines, and it depends on python3). npm is the one Node 20's late releases bundle,
# from the npm registry, checked against its published integrity.
IMAGE_REF=docker.io/library/node:20.20.2-bookworm-slim
NODE_DEB_VERSION=20.20.2-1nodesource1+repack1
NPM_VERSION=10.8.2
NPM_INTEGRITY=sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==
# node links libstdc++ (libc6 and libgcc-s1 are in minbase). ca-certificates: the official
# slim image drops it with its download tools; kept here for TLS clients other than node.
ROOTFS_PACKAGES=(libstdc++6 ca-certificates)

prepare() {
  local have
  have="$(dpkg-query -W -f '${Version}' nodejs 2>/dev/null || true)"
  [ "$have" = "$NODE_DEB_VERSION" ] || { echo "images/build.sh: node needs the Debian package nodejs $NODE_DEB_VERSION installed (found '${have:-none}')" >&2; exit 2; }
  local want got
  want="$(awk '$2 == "usr/bin/node" { print $1 }' /var/lib/dpkg/info/nodejs.md5sums)"
  got="$(md5sum </usr/bin/node | cut -c1-32)"
  [ -n "$want" ] && [ "$want" = "$got" ] || { echo "images/build.sh: /usr/bin/node differs from the nodejs package's md5sum" >&2; exit 2; }
  cp /usr/bin/node "$ctx/node"
  # The package ships it with its debug info (12 MB); the release tarball's is stripped.
  strip "$ctx/node"
}

materialize() {
  debian_rootfs bookworm "$ctx/rootfs.tar" "${ROOTFS_PACKAGES[@]}"
  local tgz stage
  tgz="$(cd "$ctx" && npm pack --silent "npm@$NPM_VERSION")"
  [ "sha512-$(openssl dgst -sha512 -binary "$ctx/$tgz" | base64 -w0)" = "$NPM_INTEGRITY" ] || { echo "images/build.sh: $tgz does not match its integrity" >&2; exit 2; }
  stage="$ctx/npm-stage/usr/local/lib/node_modules/npm"
  mkdir -p "$stage"
  tar -xzf "$ctx/$tgz" -C "$stage" --strip-components=1 --no-same-owner
  tar --owner=0 --group=0 --numeric-owner -cf "$ctx/npm.tar" -C "$ctx/npm-stage" usr
  rm -rf "$ctx/npm-stage" "$ctx/$tgz"
}
