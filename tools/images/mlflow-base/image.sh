# ghcr.io/mlflow/mlflow:v3.5.1 built here, for services/mlflow/Dockerfile to build FROM.
# Upstream is python:3.10-slim-bullseye + `pip install mlflow==3.5.1` as root, CMD python3.
# Here: Debian bookworm's Python 3.11 in a venv at /usr/local, so python, python3 and pip are
# at the python image's paths (/usr/local/bin, site-packages under /usr/local/lib) and root's
# pip installs where the official image's does, without touching Debian's own python3.
# Versions: constraints-3.11.txt (the versions of the MLflow image's hash lock,
# services/mlflow/requirements.lock.txt, for this Python; tools/python/lock.sh writes both; the
# official image has none), pip as pinned for the airflow base.
IMAGE_REF=ghcr.io/mlflow/mlflow:v3.5.1
PIP_VERSION=26.1.2
IMAGE_BUILD_ARGS=(PIP_VERSION=$PIP_VERSION)
# libstdc++6: manylinux wheels (pyarrow, scipy) may link the system's.
ROOTFS_PACKAGES=(python3.11 python3.11-venv libstdc++6 ca-certificates)

prepare() { # stale constraints fail the build
  pip_constraints_cover "$ctx/constraints-3.11.txt" "$repo/services/mlflow/requirements.txt" || exit 2
}

materialize() { debian_rootfs bookworm "$ctx/rootfs.tar" "${ROOTFS_PACKAGES[@]}"; }
