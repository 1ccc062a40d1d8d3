#!/bin/sh
# The node image's ENTRYPOINT: the arguments are a command to exec, unless they are meant for
# node: nothing at all, a first argument that is a flag (--version), one that no PATH lookup
# finds (app.js), or a file that exists but is not executable (./app.js).
set -e
if [ "$#" -eq 0 ]; then
  set -- node
else
  case "$1" in
    -*) set -- node "$@" ;;
    *)
      if ! command -v "$1" >/dev/null 2>&1 || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
        set -- node "$@"
      fi
      ;;
  esac
fi
exec "$@"
