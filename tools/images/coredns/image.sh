# coredns built from its Go module (tools/node-addons/build.sh).
IMAGE_REF=registry.k8s.io/coredns/coredns:v1.15.0
prepare() { cp "$(bash "$repo/tools/node-addons/build.sh")/coredns" "$ctx/coredns"; }
