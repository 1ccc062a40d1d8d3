#!/usr/bin/env bash
# Usage: tools/python/venv.sh NAME
# Builds (or reuses) the Python virtualenv described by tools/python/NAME.txt (a pip
# requirements file with exact pins; it may `-r` other files and `-c` a lock) in a cache
# directory outside the clone, keyed by a hash of those files and the Python version, and prints
# the venv's path on stdout. Progress goes to stderr. A warm call takes well under a second.
#
#   VENV=$(tools/python/venv.sh pipeline) && "$VENV/bin/python" -m pytest dags/tests
#
# Cache root: $MLOPS_CACHE_DIR (default $HOME/.cache/mlops-platform).
set -euo pipefail
name="${1:?usage: tools/python/venv.sh NAME (a file tools/python/NAME.txt)}"
here="$(cd "$(dirname "$0")" && pwd)"
req="$here/$name.txt"
[ -f "$req" ] || { echo "venv.sh: no requirements file tools/python/$name.txt" >&2; exit 2; }

python="${PYTHON:-python3}"
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# Hash the file and everything it includes with -r or -c (one level deep is all we use).
files=("$req")
while read -r inc; do files+=("$(cd "$(dirname "$req")" && realpath "$inc")"); done \
  < <(sed -n 's/^-[rc][[:space:]]*//p' "$req")
key="$(cat "${files[@]}" | sha256sum | cut -c1-12)"

root="${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/venvs"
venv="$root/$name-py$pyver-$key"
mkdir -p "$root"
# Several test parts may ask for the same venv at once: one builds, the others wait.
exec 9>"$venv.lock"
flock 9
if [ -f "$venv/.complete" ]; then
  echo "$venv"
  exit 0
fi

start=$(date +%s)
echo "venv.sh: building $name (py$pyver, key $key) in $venv" >&2
rm -rf "$venv"
mkdir -p "$root"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
# --only-binary keeps builds off this path: every pin must have a wheel.
(cd "$(dirname "$req")" && "$venv/bin/pip" install --disable-pip-version-check --progress-bar off \
  --only-binary=:all: -r "$req") >&2
touch "$venv/.complete"
echo "venv.sh: $name ready in $(( $(date +%s) - start ))s" >&2
echo "$venv"
