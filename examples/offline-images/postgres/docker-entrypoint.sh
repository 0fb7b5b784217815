#!/usr/bin/env bash
# Entry point of tamma-offline/postgres, written for tamma-ops. It reproduces the documented
# behaviour of the official postgres image's entry point, so that compose files written for
# postgres:16-alpine run with only the image name changed:
#   - arguments starting with "-" are server options (`docker run IMAGE -c fsync=off`);
#   - any command other than `postgres` (psql, pg_dump, bash...) runs untouched;
#   - as root, it gives the data directory to postgres and runs itself again as postgres;
#   - on an EMPTY data directory only, it runs initdb for POSTGRES_USER / POSTGRES_PASSWORD,
#     creates POSTGRES_DB and runs /docker-entrypoint-initdb.d/ (*.sh, *.sql, *.sql.gz, *.sql.xz,
#     in name order) against a temporary server;
#   - it then execs the server, which becomes PID 1 and gets `docker stop`'s signal itself.
# One deliberate difference: the temporary server listens on a private socket directory, so a
# health check (`pg_isready`) cannot report ready while initialisation is still running.
set -Eeuo pipefail

INITDB_DIR=/docker-entrypoint-initdb.d
# Present only while initialisation runs: a data directory that still has it was left half-made.
INIT_MARKER_NAME=.tamma-offline-initialising

log() { printf '%s tamma-offline-postgres: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# VAR or VAR_FILE (a Docker secret's path), as in the official image; setting both is an error.
file_env() {
  local var=$1 default=${2:-}
  local file_var="${var}_FILE"
  local value=$default
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    die "both $var and $file_var are set; set only one of them"
  fi
  if [ -n "${!var:-}" ]; then
    value=${!var}
  elif [ -n "${!file_var:-}" ]; then
    value=$(<"${!file_var}")
  fi
  export "$var=$value"
  unset "$file_var"
}

# `postgres --help` and friends print and exit: they must not trigger initialisation.
only_prints() {
  local arg
  for arg in "$@"; do
    case $arg in
    -'?' | --help | --describe-config | -V | --version) return 0 ;;
    esac
  done
  return 1
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_INITDB_WALDIR:=}"
  : "${POSTGRES_HOST_AUTH_METHOD:=}"
}

# Runs as root: the data directory may be a fresh volume owned by root.
take_ownership() {
  mkdir -p "$PGDATA" /var/run/postgresql
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  chmod 00700 "$PGDATA"
  chown postgres:postgres /var/run/postgresql
  chmod 03775 /var/run/postgresql
  if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 00700 "$POSTGRES_INITDB_WALDIR"
  fi
}

psql_init() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --dbname "$POSTGRES_DB" "$@"
}

run_init_files() {
  local file
  for file in "$INITDB_DIR"/*; do
    [ -e "$file" ] || continue
    case $file in
    *.sh)
      if [ -x "$file" ]; then
        log "running $file"
        "$file"
      else
        log "sourcing $file"
        # Sourced scripts are written for the official image, whose entry point does not use
        # `set -u`: an unset variable in them must not abort initialisation here either.
        set +u
        # shellcheck disable=SC1090  # the path is only known at run time
        . "$file"
        set -u
      fi
      ;;
    *.sql)
      log "running $file"
      psql_init -f "$file"
      ;;
    *.sql.gz)
      log "running $file"
      gunzip -c "$file" | psql_init
      ;;
    *.sql.xz)
      log "running $file"
      xzcat "$file" | psql_init
      ;;
    *) log "ignoring $file (not *.sh, *.sql, *.sql.gz or *.sql.xz)" ;;
    esac
  done
}

initialise() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    die "the database is uninitialised and POSTGRES_PASSWORD is not set. Set POSTGRES_PASSWORD
    (or POSTGRES_PASSWORD_FILE) to the superuser's password; POSTGRES_HOST_AUTH_METHOD=trust
    allows connections without one, and should never be used outside a test."
  fi
  log "initialising a new database cluster in $PGDATA for user \"$POSTGRES_USER\""
  local initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host=trust --no-instructions)
  if [ -n "$POSTGRES_INITDB_WALDIR" ]; then
    initdb_args+=(--waldir="$POSTGRES_INITDB_WALDIR")
  fi
  # POSTGRES_INITDB_ARGS is a list of options: it is split on whitespace on purpose.
  # shellcheck disable=SC2206
  initdb_args+=($POSTGRES_INITDB_ARGS)
  if [ -n "$POSTGRES_PASSWORD" ]; then
    # A pipe, not a file: the password is never written to disk in clear.
    initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
  else
    initdb "${initdb_args[@]}"
  fi
  touch "$PGDATA/$INIT_MARKER_NAME"

  # initdb trusts the local socket and loopback (what `docker exec psql` uses); everything that
  # comes over the network must give a password, unless the user explicitly asked otherwise.
  printf '\n# tamma-offline-postgres: clients on the network authenticate with a password\nhost all all all %s\n' \
    "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"

  local socket_dir
  socket_dir=$(mktemp -d /tmp/tamma-offline-initdb.XXXXXX)
  export PGHOST=$socket_dir PGPORT=5432 PGUSER=$POSTGRES_USER
  log "starting a temporary server on $socket_dir (no TCP) to create the database and run $INITDB_DIR"
  pg_ctl --pgdata="$PGDATA" --wait --silent \
    --options="-c listen_addresses='' -c unix_socket_directories='$socket_dir'" start

  if [ "$POSTGRES_DB" != postgres ]; then
    log "creating database \"$POSTGRES_DB\""
    psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --dbname postgres \
      --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  export PGDATABASE=$POSTGRES_DB
  run_init_files

  pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
  unset PGHOST PGPORT PGUSER PGDATABASE
  rm -rf "$socket_dir"
  rm -f "$PGDATA/$INIT_MARKER_NAME"
  log "initialisation complete"
}

main() {
  if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
  fi
  if [ "$1" != postgres ] || only_prints "$@"; then
    exec "$@"
  fi
  setup_env
  if [ "$(id -u)" = 0 ]; then
    take_ownership
    HOME=/var/lib/postgresql exec setpriv --reuid=postgres --regid=postgres --init-groups \
      "${BASH_SOURCE[0]}" "$@"
  fi

  if [ -e "$PGDATA/$INIT_MARKER_NAME" ]; then
    die "$PGDATA holds a half-initialised cluster: a previous initialisation failed (see its
    log). Fix the cause, then remove the data volume so initialisation runs again."
  fi
  if [ -s "$PGDATA/PG_VERSION" ]; then
    log "$PGDATA already holds a cluster: skipping initialisation and $INITDB_DIR"
  else
    initialise
  fi
  exec "$@"
}

main "$@"
