# The statsd exporter built from its Go module (tools/statsd-exporter/build.sh) on the local
# busybox image, as upstream's image is on busybox. The tag is the version that build pins.
IMAGE_BASES=(busybox)
ref() { echo "docker.io/prom/statsd-exporter:$(sed -n 's/^STATSD_EXPORTER_VERSION="\(v[^"]*\)"$/\1/p' "$repo/tools/statsd-exporter/build.sh")"; }
IMAGE_BUILD_ARGS=("BUSYBOX=$(bash "$here/build.sh" --ref busybox)")
prepare() { cp "$(bash "$repo/tools/statsd-exporter/build.sh")/statsd_exporter" "$ctx/statsd_exporter"; }
