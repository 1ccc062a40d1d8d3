# Debian's busybox-static with its applet links, tagged with its own version.
busybox_version() { # read whole: a closed pipe would fail it
  local banner
  banner="$(/bin/busybox --help 2>&1 || true)"
  banner="${banner%%$'\n'*}"
  [[ "$banner" =~ ^BusyBox\ v([0-9.]+) ]] || { echo "images/build.sh: /bin/busybox is not Debian's busybox-static (apt-get install busybox-static)" >&2; return 2; }
  echo "${BASH_REMATCH[1]}"
}
ref() { echo "docker.io/mlops-local/busybox:$(busybox_version)"; }
prepare() {
  ldd /bin/busybox >/dev/null 2>&1 && { echo "images/build.sh: /bin/busybox is not static (install busybox-static)" >&2; exit 2; }
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
  cp /bin/busybox "$ctx/rootfs/bin/busybox"
  "$ctx/rootfs/bin/busybox" --install -s "$ctx/rootfs/bin"
  # install -s links to the absolute path of the binary it ran as; point them at /bin/busybox.
  for l in "$ctx"/rootfs/bin/*; do [ -L "$l" ] && ln -sf /bin/busybox "$l"; done
  chmod 1777 "$ctx/rootfs/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$ctx/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/rootfs/etc/group"
}
