# apache/airflow:3.3.2-python3.11 built here, for services/airflow/Dockerfile to build FROM.
# Debian bookworm's Python 3.11 instead of the CPython the official image compiles; the same
# user (airflow 50000, group 0), paths (a venv at /home/airflow/.local, AIRFLOW_HOME
# /opt/airflow), ENV, and ENTRYPOINT (dumb-init, then our own /entrypoint, which follows the
# official one's documented behaviour: config/image-contracts.ts).
#
# Airflow's constraints file for 3.3.2 / Python 3.11 is published on GitHub, which is not
# reachable here. constraints-3.11.txt takes its place: the versions of the Airflow image's hash
# lock (services/airflow/requirements.lock.txt, the full resolution of
# services/airflow/requirements.txt + dags/requirements.txt), written with it by
# tools/python/lock.sh. The base installs Airflow and the providers
# (services/airflow/requirements.txt) with it and ships it as /home/airflow/constraints.txt,
# where the official image keeps its own; pip is the version the official 3.3 Dockerfile pins
# (AIRFLOW_PIP_VERSION).
IMAGE_REF=docker.io/apache/airflow:3.3.2-python3.11
IMAGE_FILES=(services/airflow/requirements.txt)
PIP_VERSION=26.1.2
# python3.11-venv for ensurepip; libstdc++6 for the entrypoint's LD_PRELOAD; netcat-openbsd for
# its broker check; dumb-init is the ENTRYPOINT.
IMAGE_BUILD_ARGS=(PIP_VERSION=$PIP_VERSION)
ROOTFS_PACKAGES=(python3.11 python3.11-venv libstdc++6 ca-certificates dumb-init netcat-openbsd)

prepare() { # stale constraints fail the build
  pip_constraints_cover "$ctx/constraints-3.11.txt" "$repo/services/airflow/requirements.txt" "$repo/dags/requirements.txt" || exit 2
}

materialize() { debian_rootfs bookworm "$ctx/rootfs.tar" "${ROOTFS_PACKAGES[@]}"; }
