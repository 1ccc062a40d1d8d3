# Prometheus built from its Go module (tools/prometheus/build.sh) on the local busybox image,
# as upstream's image is on busybox. The tag is the release that build stamps and checks.
IMAGE_BASES=(busybox)
prometheus_release() { sed -n 's/^PROMETHEUS_RELEASE="\([0-9][0-9.]*\)"$/\1/p' "$repo/tools/prometheus/build.sh"; }
prometheus_module_version() { sed -n 's/^PROMETHEUS_MODULE_VERSION="\(v[^"]*\)"$/\1/p' "$repo/tools/prometheus/build.sh"; }
ref() { echo "docker.io/prom/prometheus:v$(prometheus_release)"; }
IMAGE_BUILD_ARGS=("BUSYBOX=$(bash "$here/build.sh" --ref busybox)")
prepare() {
  local bin dir
  bin="$(bash "$repo/tools/prometheus/build.sh")"
  cp "$bin/prometheus" "$bin/promtool" "$ctx/"
  # The default configuration upstream's image ships: the module's own example (it scrapes
  # Prometheus itself), from the module cache the build just filled.
  dir="$(cd / && go mod download -json "github.com/prometheus/prometheus@$(prometheus_module_version)" | jq -r .Dir)"
  cp "$dir/documentation/examples/prometheus.yml" "$ctx/prometheus.yml"
  chmod 0644 "$ctx/prometheus.yml"
}
