# local-path-provisioner built from its Go module (tools/node-addons/build.sh).
IMAGE_REF=docker.io/rancher/local-path-provisioner:v0.0.30
prepare() { cp "$(bash "$repo/tools/node-addons/build.sh")/local-path-provisioner" "$ctx/local-path-provisioner"; }
