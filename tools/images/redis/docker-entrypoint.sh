#!/bin/sh
# The redis image's entrypoint (ours; it keeps the docker-library redis contract recorded in
# config/image-contracts.ts): a first argument that is a flag or a *.conf file runs
# redis-server with the arguments; as root, redis-server's working directory is handed to
# redis and the server runs as redis; a umask of 0022 becomes 0077 so the data files are
# private to their owner. Anything else (redis-cli, sh) is exec'ed unchanged.
set -eu
case "${1:-}" in
  '') set -- redis-server ;;
  -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis:redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$(umask)" = 0022 ]; then umask 0077; fi
exec "$@"
