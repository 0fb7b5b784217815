# shellcheck shell=bash
# Sourced by the scripts beside it; sets SCRIPT (the caller's name) for messages.
# Root is used only where it is needed: installing packages, starting the engine, debootstrap.
# Everything that talks to the engine runs as the user, who must be able to open its socket
# (root, or a member of the socket's group, `docker`).

SCRIPT=${SCRIPT:-$(basename "$0")}

log() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Runs a command as root: directly when root, else through sudo (which asks for a password
# only if the user's sudo rules want one).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "\`$*\` needs root and sudo is not installed: run this as root, or install sudo"
  fi
}

APT_UPDATED=

# Installs Debian packages, with one `apt-get update` per run.
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# The unix socket the docker CLI talks to: DOCKER_HOST's when it names one, else the default.
# Prints nothing for a TCP or SSH DOCKER_HOST.
docker_socket() {
  local host=${DOCKER_HOST:-unix:///var/run/docker.sock}
  case $host in
  unix://*) printf '%s\n' "${host#unix://}" ;;
  esac
}

# Exits with the fix when the engine's socket exists but this user may not open it: that is
# not a missing engine, and starting a second one would not help.
require_socket_access() {
  local socket user group fix
  socket=$(docker_socket)
  [ -n "$socket" ] && [ -S "$socket" ] || return 0
  [ -r "$socket" ] && [ -w "$socket" ] && return 0
  user=$(id -un)
  group=$(stat -c %G "$socket")
  if [ "$group" != docker ]; then
    fix="the socket's group is $group, not docker: the engine was started without \`-G docker\`; restart it that way (scripts/provision-engine does), or run this through sudo"
  elif id -nG "$user" | tr ' ' '\n' | grep -qx docker; then
    fix="$user joined the docker group after this login began: log out and in again (or run \`newgrp docker\`), or run this through sudo"
  else
    fix="sudo usermod -aG docker $user, then log out and in again (a new login picks up the group), or run this through sudo"
  fi
  log "error: permission denied on the Docker socket $socket ($(stat -c '%U:%G %A' "$socket")): the engine runs, but user $user may not use it"
  log "fix: $fix"
  exit 1
}
