# Helpers for tools/images/*/image.sh (sourced by tools/images/build.sh).

# debian_rootfs SUITE OUT [PACKAGE...]: a minimal Debian root filesystem (mmdebstrap minbase)
# with PACKAGES, as a tarball at OUT. Packages come from the Debian archive this machine's apt
# is configured with (its sources for its own suite; for another suite, the same archive's
# URIs with that suite). Documentation, man pages and locales are left out; apt's lists are
# removed, so an image built from it never runs apt at run time.
debian_rootfs() {
  local suite="$1" out="$2"; shift 2
  command -v mmdebstrap >/dev/null || { echo "images: mmdebstrap is required (apt-get install mmdebstrap)" >&2; return 2; }
  local include="" p
  for p in "$@"; do include="${include:+$include,}$p"; done
  local own; own="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  local sources=()
  if [ "$suite" != "$own" ]; then
    # The archive's URIs as this machine's apt knows them (deb822 or one-line sources).
    local main sec
    # `|| true`: grep exits 2 when one of the paths is missing (a deb822-only machine has no
    # sources.list), which pipefail would turn into a failed assignment; emptiness is checked below.
    main="$(grep -rhoE '(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+' | sed -n 1p || true)"
    sec="$(grep -rhoE '(URIs:|deb) +https?://[^ ]+/debian-security/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+' | sed -n 1p || true)"
    [ -n "$main" ] || { echo "images: no Debian archive in this machine's apt sources" >&2; return 2; }
    sources+=("deb ${main%/} $suite main" "deb ${main%/} $suite-updates main")
    [ -n "$sec" ] && sources+=("deb ${sec%/} $suite-security main")
  fi
  mmdebstrap --quiet --variant=minbase ${include:+--include="$include"} \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*' \
    "$suite" "$out" "${sources[@]}" >&2
}

# pip_constraints_cover CONSTRAINTS REQUIREMENTS...: fails (naming each one) when a `name==version`
# pin of the requirement files is not in the constraints file, i.e. the constraints are stale.
# Names compare as pip does: case-insensitive, `-`, `_` and `.` alike.
pip_constraints_cover() {
  local constraints="$1" pin missing=0 have; shift
  _pins() { sed -e 's/#.*//' -e 's/[[:space:]]//g' "$@" | awk -F'==' 'NF == 2 { n = tolower($1); gsub(/[-_.]+/, "-", n); print n "==" $2 }'; }
  have="$(_pins "$constraints")"
  while read -r pin; do
    grep -qxF "$pin" <<<"$have" || { echo "images: $(basename "$constraints") lacks $pin (regenerate it: see its header)" >&2; missing=1; }
  done < <(_pins "$@")
  return "$missing"
}
