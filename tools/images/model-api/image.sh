# The model API, from its own Dockerfile (build context: the repository root) on the local
# node image. The program renders mlops-platform/model-api:0.1.0; the archive carries the
# name the CRI resolves that to.
IMAGE_REF=docker.io/mlops-platform/model-api:0.1.0
IMAGE_BASES=(node)
IMAGE_DOCKERFILE=services/model-api/Dockerfile
# What the Dockerfile COPYs.
IMAGE_FILES=(package.json package-lock.json services config/listing.json)
