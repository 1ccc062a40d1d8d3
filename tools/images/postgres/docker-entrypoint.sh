#!/usr/bin/env bash
# The postgres image's entrypoint (ours; it keeps the docker-library postgres contract
# recorded in config/image-contracts.ts):
#
# - `docker-entrypoint.sh -c x=y` runs `postgres -c x=y` (a first argument that is a flag).
# - `postgres` with an empty PGDATA (no PG_VERSION): initdb as POSTGRES_USER (default postgres)
#   with POSTGRES_PASSWORD (or the file POSTGRES_PASSWORD_FILE names), handed to initdb through
#   a pipe, never on a command line; POSTGRES_INITDB_ARGS (split on whitespace, no quoting) go
#   to initdb. Connections over TCP, loopback included, authenticate with
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256); the Unix socket inside the container is
#   trusted. Then a socket-only temporary server creates POSTGRES_DB (default: the user's name)
#   and runs /docker-entrypoint-initdb.d/* in name order (*.sh: run when executable, else
#   sourced; *.sql, *.sql.gz, *.sql.xz, *.sql.zst: fed to psql), and stops.
#   Without a password it refuses, unless POSTGRES_HOST_AUTH_METHOD=trust.
# - `postgres` with a PGDATA that holds a cluster: none of the above; the POSTGRES_* variables
#   are ignored (changing them never changes an existing cluster).
# - Anything else (psql, pg_isready, bash ...) is exec'ed unchanged.
#
# It runs as any uid. As root it prepares PGDATA and the socket directory for postgres and
# re-executes itself as postgres (setpriv). A uid without a passwd entry gets one from
# nss_wrapper for initdb, which insists on a user name.
set -Eeuo pipefail

me=docker-entrypoint.sh
log() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

# value_of VAR DEFAULT: VAR, or the content of the file VAR_FILE names, or DEFAULT; exported
# as VAR. Both set is an error.
value_of() {
  local var="$1" file_var="$1_FILE" default="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    die "$var and $file_var are both set; set one of them"
  fi
  local value="$default"
  if [ -n "${!var:-}" ]; then
    value="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    [ -r "${!file_var}" ] || die "$file_var names ${!file_var}, which is not a readable file"
    value="$(<"${!file_var}")"
  fi
  export "$var=$value"
  unset "$file_var"
}

# Flags that make postgres print something and exit: no set-up for those.
wants_info_only() {
  local a
  for a in "$@"; do
    case "$a" in -'?' | --help | --describe-config | -V | --version) return 0 ;; esac
  done
  return 1
}

prepare_dirs() {
  mkdir -p "$PGDATA" 2>/dev/null || die "cannot create PGDATA $PGDATA as uid $(id -u) (is its parent writable?)"
  # postgres refuses a data directory that others can read; not fatal here when we do not own
  # it (postgres then says so itself).
  chmod 0700 "$PGDATA" 2>/dev/null || true
  mkdir -p /var/run/postgresql 2>/dev/null || true
  chmod 3775 /var/run/postgresql 2>/dev/null || true
}

run_as_postgres() {
  prepare_dirs
  # Only what is not postgres's already, so a large existing cluster is not walked in full.
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
}

with_passwd_entry() {
  if getent passwd "$(id -u)" >/dev/null; then
    "$@"
    return
  fi
  local lib dir
  lib="$(compgen -G '/usr/lib/*/libnss_wrapper.so' | head -n 1 || true)"
  [ -n "$lib" ] || die "uid $(id -u) has no passwd entry and libnss_wrapper is missing"
  dir="$(mktemp -d)" || die "uid $(id -u) has no passwd entry and \$TMPDIR (${TMPDIR:-/tmp}) is not writable for nss_wrapper's files"
  printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$dir/passwd"
  printf 'postgres:x:%s:\n' "$(id -g)" >"$dir/group"
  LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD="$dir/passwd" NSS_WRAPPER_GROUP="$dir/group" "$@"
  rm -rf "$dir"
}

init_cluster() {
  value_of POSTGRES_PASSWORD
  value_of POSTGRES_USER postgres
  value_of POSTGRES_DB "$POSTGRES_USER"
  local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    die "$PGDATA holds no database cluster, and no superuser password is set.
  Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE, a file that holds it) to initialise one.
  POSTGRES_HOST_AUTH_METHOD=trust instead lets anyone who reaches the port connect as any
  user without a password; it is not meant for anything but throw-away local use."
  fi
  if [ "$auth" = trust ]; then
    log "WARNING: POSTGRES_HOST_AUTH_METHOD=trust: every TCP connection is accepted without a password"
  fi
  if [ ! -w /var/run/postgresql ]; then
    die "/var/run/postgresql is not writable by uid $(id -u) (a read-only root filesystem needs a volume there)"
  fi

  local extra=()
  read -r -a extra <<<"${POSTGRES_INITDB_ARGS:-}"
  log "initialising $PGDATA (superuser $POSTGRES_USER, TCP authentication $auth)"
  if [ -n "$POSTGRES_PASSWORD" ]; then
    # initdb reads the password from a pipe (/dev/fd/N); a trailing newline because initdb
    # rejects an empty file.
    with_passwd_entry initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" \
      --auth-local=trust --auth-host="$auth" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") "${extra[@]}"
  else
    with_passwd_entry initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" \
      --auth-local=trust --auth-host="$auth" "${extra[@]}"
  fi
  # initdb's rules cover loopback only; this one covers every other address.
  printf '\n# Added by %s: every other address, authenticated.\nhost all all all %s\n' "$me" "$auth" >>"$PGDATA/pg_hba.conf"

  local port="${PGPORT:-5432}"
  log "starting a temporary server (Unix socket only) for set-up"
  # Its environment does not carry the password.
  env -u POSTGRES_PASSWORD pg_ctl --pgdata="$PGDATA" --wait --silent --options="-c listen_addresses='' -p $port" start
  # A failed step leaves PG_VERSION behind, so the next start would skip initialisation: say so.
  trap 'pg_ctl --pgdata="$PGDATA" --wait --silent --mode=immediate stop || true
    printf "%s: error: initialisation failed; %s is half-initialised: empty it before the next start\n" "$me" "$PGDATA" >&2' ERR
  local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --host=/var/run/postgresql --port="$port" --username="$POSTGRES_USER")

  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname=postgres --set=db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
  fi

  local f
  # Scripts reach the temporary server with libpq's defaults (the socket directory, PGPORT)
  # and find POSTGRES_USER, POSTGRES_DB and POSTGRES_PASSWORD in their environment.
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          log "running $f"; "$f"
        else
          log "sourcing $f"
          # Sourced scripts are written for a shell without nounset.
          set +u
          # shellcheck source=/dev/null
          . "$f"
          set -u
        fi ;;
      *.sql) log "running $f"; "${psql[@]}" --dbname="$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gzip -dc "$f" | "${psql[@]}" --dbname="$POSTGRES_DB" ;;
      *.sql.xz) log "running $f"; xz -dc "$f" | "${psql[@]}" --dbname="$POSTGRES_DB" ;;
      *.sql.zst) log "running $f"; zstd -dcq "$f" | "${psql[@]}" --dbname="$POSTGRES_DB" ;;
      *) log "ignoring $f (not *.sh, *.sql, *.sql.gz, *.sql.xz or *.sql.zst)" ;;
    esac
  done

  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
  trap - ERR
  log "initialisation complete; starting the server"
}

main() {
  if [ "$#" -eq 0 ] || [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" != postgres ] || wants_info_only "$@"; then
    exec "$@"
  fi
  : "${PGDATA:?PGDATA must be set (the image sets /var/lib/postgresql/data)}"
  if [ "$(id -u)" = 0 ]; then
    run_as_postgres "$@"
  fi
  prepare_dirs
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # Mode 0700 files from here on: the cluster is private to its owner.
    umask 0077
    init_cluster
  fi
  # The server needs neither; its environment should not carry the password.
  unset POSTGRES_PASSWORD POSTGRES_PASSWORD_FILE
  exec "$@"
}

main "$@"
