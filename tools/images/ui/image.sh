# The UI, from its own Dockerfile (build context: the repository root) on the local node
# image. The program renders mlops-platform/ui:0.1.0; the archive carries the name the CRI
# resolves that to.
IMAGE_REF=docker.io/mlops-platform/ui:0.1.0
IMAGE_BASES=(node)
IMAGE_DOCKERFILE=services/ui/Dockerfile
# What the Dockerfile COPYs.
IMAGE_FILES=(package.json package-lock.json services)
