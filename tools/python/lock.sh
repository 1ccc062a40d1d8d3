#!/usr/bin/env bash
# Usage: bash tools/python/lock.sh [UV-PIP-COMPILE-OPTION...]
#
# Regenerates the Python images' hash locks from the human-edited pin files, and the local base
# images' constraints from those locks, so a version bump is: edit a pin file, run this, commit.
#
#   services/airflow/requirements.txt + dags/requirements.txt -> services/airflow/requirements.lock.txt
#   services/mlflow/requirements.txt                          -> services/mlflow/requirements.lock.txt
#   each lock, for the local base's Python                    -> tools/images/{airflow,mlflow}-base/constraints-3.11.txt
#
# A lock pins every package, transitive ones included, with the sha256 of every file PyPI has
# for that version; the Dockerfiles install it with `pip install --no-deps --require-hashes`.
# Options are passed to every `uv pip compile`: a pin that did not change keeps its version
# (uv prefers the existing lock's), `--upgrade-package NAME` or `--upgrade` moves them.
# The resolver is uv, pinned in tools/python/lock.txt; it uses PyPI unless UV_DEFAULT_INDEX
# says otherwise (uv does not read pip.conf).
set -euo pipefail
cd "$(dirname "$0")/../.."
uv="$(bash tools/python/venv.sh lock)/bin/uv"
export UV_CACHE_DIR="${UV_CACHE_DIR:-${MLOPS_CACHE_DIR:-$HOME/.cache/mlops-platform}/uv}"
# pip compile needs no interpreter of the target version; never let uv fetch one.
export UV_PYTHON_DOWNLOADS=never

# The local bases' Python: Debian bookworm's 3.11.2 (glibc 2.36), Linux x86_64. --no-build:
# every package must have a wheel there (the images and the test venvs install wheels only).
BASE_TARGET=(--python-version 3.11.2 --python-platform x86_64-manylinux_2_36)

# compile OUT HEADER INPUT... [-- OPTION...]: a hash lock at OUT, HEADER (a text) above uv's own.
compile() {
  local out="$1" header="$2"; shift 2
  "$uv" pip compile --quiet --generate-hashes --no-build --custom-compile-command "bash tools/python/lock.sh" \
    -o "$out" "$@"
  { printf '%s\n' "$header" | sed 's/^/# /'; cat "$out"; } >"$out.tmp" && mv "$out.tmp" "$out"
}

# constraints OUT LOCK HEADER INPUT...: the lock's versions for the bases' Python, without hashes.
constraints() {
  local out="$1" lock="$2" header="$3"; shift 3
  "$uv" pip compile --quiet --no-header --no-annotate --no-build "${BASE_TARGET[@]}" -c "$lock" -o "$out.tmp" "$@"
  { printf '%s\n' "$header" | sed 's/^/# /'; cat "$out.tmp"; } >"$out" && rm "$out.tmp"
}

# Airflow: the image's tag fixes the Python minor (python3.11). Locked for 3.11.2, the oldest
# 3.11 it runs on: a lock for a later patch may pick a version that needs it (soupsieve 4.x
# needs >= 3.11.5), while what 3.11.2 accepts also installs on upstream's later 3.11.
compile services/airflow/requirements.lock.txt "$(cat <<'EOF'
The Airflow image's packages (services/airflow/Dockerfile): Airflow, its providers and the DAGs'
libraries, every transitive dependency included, each with its hashes. Written by
tools/python/lock.sh from services/airflow/requirements.txt and dags/requirements.txt, for
CPython 3.11.2 on Linux x86_64 (manylinux glibc 2.36: Debian bookworm), wheels only.
Airflow's own constraints file (constraints-3.3.2/constraints-3.11.txt) is published on GitHub,
which the machines of this project cannot reach, so it could not be used: this lock was
resolved against the version ranges the pinned Airflow and provider releases declare, and takes
the constraints file's place (a full hash lock is stricter than constraints).
EOF
)" "${BASE_TARGET[@]}" services/airflow/requirements.txt dags/requirements.txt "$@"

# MLflow: the tag (v3.5.1) does not fix the Python. Upstream's image is the python image's 3.10,
# the local base Debian's 3.11.2: one universal lock from 3.10 up, which pip reads by its markers.
compile services/mlflow/requirements.lock.txt "$(cat <<'EOF'
The MLflow image's packages (services/mlflow/Dockerfile): MLflow and what the platform adds,
every transitive dependency included, each with its hashes. Written by tools/python/lock.sh
from services/mlflow/requirements.txt: a universal resolution for CPython 3.10 and later (the
official ghcr.io/mlflow/mlflow image runs 3.10, the local base tools/images/mlflow-base
Debian's 3.11.2), where versions differ by Python a marker picks one for the interpreter.
EOF
)" --universal --python-version 3.10 services/mlflow/requirements.txt "$@"

constraints tools/images/airflow-base/constraints-3.11.txt services/airflow/requirements.lock.txt "$(cat <<'EOF'
What the local apache/airflow base installs Airflow and its providers with: the versions of
services/airflow/requirements.lock.txt (Airflow's own constraints file lives on GitHub, which
this build cannot reach; see the lock's header), without hashes, as upstream's constraints.
The image built on it (services/airflow/Dockerfile) then installs the whole lock without moving
anything the base installed. Written by tools/python/lock.sh; do not edit.
EOF
)" services/airflow/requirements.txt dags/requirements.txt

constraints tools/images/mlflow-base/constraints-3.11.txt services/mlflow/requirements.lock.txt "$(cat <<'EOF'
What the local ghcr.io/mlflow/mlflow base installs mlflow with: the versions of
services/mlflow/requirements.lock.txt for its Python (Debian bookworm's 3.11.2), without hashes,
so the image built on it (services/mlflow/Dockerfile) installs the lock without moving anything.
Written by tools/python/lock.sh; do not edit.
EOF
)" services/mlflow/requirements.txt

echo "lock.sh: wrote services/airflow/requirements.lock.txt, services/mlflow/requirements.lock.txt and the bases' constraints-3.11.txt" >&2
