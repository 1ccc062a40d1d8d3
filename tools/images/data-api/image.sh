# The data API, from its own Dockerfile (build context: the repository root) on the local
# node image. The program renders mlops-platform/data-api:0.1.0; the archive carries the
# name the CRI resolves that to.
IMAGE_REF=docker.io/mlops-platform/data-api:0.1.0
IMAGE_BASES=(node)
IMAGE_DOCKERFILE=services/data-api/Dockerfile
# What the Dockerfile COPYs.
IMAGE_FILES=(package.json package-lock.json services)
