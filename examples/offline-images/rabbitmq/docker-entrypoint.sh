#!/usr/bin/env bash
# Entry point of tamma-offline/rabbitmq, written for tamma-ops. It reproduces what the official
# rabbitmq image offers a compose file:
#   - arguments starting with "-" are passed to rabbitmq-server;
#   - RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS / RABBITMQ_DEFAULT_VHOST (or their _FILE
#     variants) create that user on the node's first start, instead of guest/guest;
#   - as root, it gives /var/lib/rabbitmq to rabbitmq and runs the server as rabbitmq;
#   - the server is exec'd, so it is PID 1 and `docker stop` stops it cleanly.
set -Eeuo pipefail

DATA_DIR=/var/lib/rabbitmq
COOKIE=$DATA_DIR/.erlang.cookie
DEFAULTS_CONF=/etc/rabbitmq/conf.d/10-tamma-offline-defaults.conf

log() { printf '%s tamma-offline-rabbitmq: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# VAR or VAR_FILE (a Docker secret's path); setting both is an error.
file_env() {
  local var=$1
  local file_var="${var}_FILE"
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    die "both $var and $file_var are set; set only one of them"
  fi
  if [ -n "${!file_var:-}" ]; then
    export "$var=$(<"${!file_var}")"
  fi
  unset "$file_var"
}

# rabbitmq.conf is key = value, one per line: a value may not span lines.
conf_value() {
  local name=$1 value=$2
  case $value in
  *$'\n'*) die "$name must be a single line" ;;
  esac
  printf '%s\n' "$value"
}

# The user, password and vhost a node creates on its first start (later starts ignore them,
# as in the official image: the definitions then live in the data directory).
write_default_user_conf() {
  file_env RABBITMQ_DEFAULT_USER
  file_env RABBITMQ_DEFAULT_PASS
  file_env RABBITMQ_DEFAULT_VHOST
  {
    echo '# Written by the entry point from RABBITMQ_DEFAULT_* at container start.'
    if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
      echo "default_user = $(conf_value RABBITMQ_DEFAULT_USER "$RABBITMQ_DEFAULT_USER")"
    fi
    if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then
      echo "default_pass = $(conf_value RABBITMQ_DEFAULT_PASS "$RABBITMQ_DEFAULT_PASS")"
    fi
    if [ -n "${RABBITMQ_DEFAULT_VHOST:-}" ]; then
      echo "default_vhost = $(conf_value RABBITMQ_DEFAULT_VHOST "$RABBITMQ_DEFAULT_VHOST")"
    fi
  } >"$DEFAULTS_CONF"
  chmod 0640 "$DEFAULTS_CONF"
  chown root:rabbitmq "$DEFAULTS_CONF"
}

# The node and the CLI tools (health checks) must share a cookie. Creating it here, before
# either starts, avoids a race in which a root health check would create it first, unreadable
# by the server.
ensure_cookie() {
  if [ ! -s "$COOKIE" ]; then
    od -An -N20 -tx1 /dev/urandom | tr -d ' \n' >"$COOKIE"
  fi
  chown rabbitmq:rabbitmq "$COOKIE"
  chmod 0400 "$COOKIE"
}

main() {
  if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then
    set -- rabbitmq-server "$@"
  fi
  if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$DATA_DIR"
    find "$DATA_DIR" \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
    write_default_user_conf
    ensure_cookie
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$@"
  fi
  exec "$@"
}

main "$@"
