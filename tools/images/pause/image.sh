# The pod sandbox: pause.c compiled statically here.
IMAGE_REF=registry.k8s.io/pause:3.10
prepare() {
  command -v gcc >/dev/null || { echo "images/build.sh: gcc is required for pause" >&2; exit 2; }
  gcc -static -Os -Wall -Werror -o "$ctx/pause" "$ctx/pause.c"
  strip "$ctx/pause"
  rm "$ctx/pause.c"
}
