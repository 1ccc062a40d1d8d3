# The platform's Airflow image, from services/airflow/Dockerfile as written, on the local
# apache/airflow base (tools/images/airflow-base). The program renders
# mlops-platform/airflow:3.3.2-1; the archive carries the name the CRI resolves that to.
IMAGE_REF=docker.io/mlops-platform/airflow:3.3.2-1
IMAGE_BASES=(airflow-base)
IMAGE_DOCKERFILE=services/airflow/Dockerfile
# What the Dockerfile COPYs.
IMAGE_FILES=(services/airflow/requirements.lock.txt)
