# The platform's MLflow image, from services/mlflow/Dockerfile as written, on the local
# ghcr.io/mlflow/mlflow base (tools/images/mlflow-base). The program renders
# mlops-platform/mlflow:3.5.1-1; the archive carries the name the CRI resolves that to.
IMAGE_REF=docker.io/mlops-platform/mlflow:3.5.1-1
IMAGE_BASES=(mlflow-base)
IMAGE_DOCKERFILE=services/mlflow/Dockerfile
# What the Dockerfile COPYs.
IMAGE_FILES=(services/mlflow/requirements.lock.txt)
