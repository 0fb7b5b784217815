#!/bin/sh
# tamma-update.sh: update a self-hosted Tamma stack with a verified database backup first and an
# automatic way back. `tamma-ops init --full-stack` writes it next to docker-compose.yml and .env;
# it needs only a POSIX shell and its tools, sha256sum, docker and docker compose (no Python).
# Run `./tamma-update.sh --help` for what it does and its exit codes.
set -eu
LC_ALL=C
export LC_ALL
# Backups hold the whole database: every file this script writes is private to its owner.
umask 077

usage() {
    cat <<'EOF'
Usage: tamma-update.sh [OPTIONS]

Updates the Tamma stack in this script's directory (docker-compose.yml, .env, and
docker-compose.override.yml if there is one), from any current directory:

  1. Backup gate: dumps the database of the `postgres` service (pg_dump -Fc, inside the
     container, with its own POSTGRES_USER / POSTGRES_DB) into backups/<UTC time>.dump,
     verifies it (non-zero size, `pg_restore --list` reads it), records its SHA-256 in
     backups/<UTC time>.dump.sha256 and keeps the newest N backups. If the backup cannot be
     taken or does not verify, nothing is pulled.
  2. Way back: records the image every application service runs now in
     backups/<UTC time>.images, one line per container: service, image ID, configured image,
     registry digest (- when the image never came from a registry). On success, stdout lists
     what runs afterwards in the same format.
  3. Update: `docker compose pull` of the application services (every service except the
     infrastructure services postgres and rabbitmq, which are never pulled here: a new
     database image is an upgrade of its own, to take after a backup), `docker compose up -d`,
     then waits until every service is healthy (or running, if it has no health check).
     --timeout bounds `up` too: compose waits for a dependency's health before it starts what
     depends on it.
  4. Rollback: if the stack is not healthy within --timeout, every application service goes
     back to the image it ran before (the configured tag is pointed at the recorded image ID
     again with `docker tag`, then the services are recreated), the script waits for health
     again and exits non-zero. A rollback never touches the database or its volume.

Options:
  --keep N         keep the newest N backups (default 7, at least 1)
  --timeout S      seconds to wait for the stack to turn healthy, `docker compose up`
                   included (default 300)
  --backup-only    take and verify a backup, then stop (no pull, no restart)
  --restore FILE   restore the database from FILE (a .dump made by this script): verifies
                   FILE, asks for confirmation, backs up the current database first, stops
                   the application services, runs `pg_restore --clean --if-exists` in one
                   transaction, starts them again and waits for health
  --yes            do not ask before --restore (needed when stdin is not a terminal)
  -h, --help       show this help

Exit codes:
  0   done: the stack runs the new images (or the backup / restore is done) and is healthy
  1   a docker command failed unexpectedly (its message is above)
  2   usage error (unknown option, bad value)
  3   the stack cannot be used: docker or docker compose missing, no docker-compose.yml
  4   backup gate: the backup could not be taken or did not verify; nothing was pulled
  5   pull failed; the previous images were kept and nothing was restarted
  6   update failed and was rolled back: the previous images run again and are healthy
  7   update failed and the rollback did not reach health either: look at the stack now
  8   restore failed (the file does not verify, pg_restore failed, or the stack is not
      healthy afterwards)
  9   restore not confirmed
  130 interrupted

Examples:
  ./tamma-update.sh                        # backup, pull, restart, wait, roll back on failure
  ./tamma-update.sh --backup-only --keep 14
  ./tamma-update.sh --timeout 600
  ./tamma-update.sh --restore backups/20260101T020000Z.dump
  sha256sum -c backups/20260101T020000Z.dump.sha256   # (inside backups/) check a backup later
EOF
}

say() {
    printf 'tamma-update: %s\n' "$*" >&2
}

die() {
    code=$1
    shift
    printf 'tamma-update: error: %s\n' "$*" >&2
    exit "$code"
}

usage_error() {
    printf 'tamma-update: error: %s\nRun with --help for usage.\n' "$*" >&2
    exit 2
}

is_count() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
        *) return 0 ;;
    esac
}

keep=7
timeout=300
mode=update
restore_file=
assume_yes=no
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --keep | --timeout | --restore)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case $1 in
                --keep) keep=$2 ;;
                --timeout) timeout=$2 ;;
                --restore)
                    mode=restore
                    restore_file=$2
                    ;;
            esac
            shift 2
            ;;
        --keep=*) keep=${1#*=} && shift ;;
        --timeout=*) timeout=${1#*=} && shift ;;
        --restore=*) mode=restore && restore_file=${1#*=} && shift ;;
        --backup-only)
            mode=backup
            shift
            ;;
        --yes | -y)
            assume_yes=yes
            shift
            ;;
        *) usage_error "unknown argument: $1" ;;
    esac
done
if ! is_count "$keep" || [ "$keep" -lt 1 ]; then
    usage_error "--keep takes a whole number of at least 1, not '$keep'"
fi
if ! is_count "$timeout" || [ "$timeout" -lt 1 ]; then
    usage_error "--timeout takes a whole number of seconds of at least 1, not '$timeout'"
fi
[ "$mode" != restore ] || [ -n "$restore_file" ] || usage_error "--restore needs a file"

# A relative --restore FILE is relative to where the user stands, not to the stack directory.
if [ "$mode" = restore ]; then
    case $restore_file in
        /*) ;;
        *) restore_file=$(pwd)/$restore_file ;;
    esac
fi

# The stack directory is this script's own: compose finds docker-compose.yml and .env there.
# A symbolic link to the script (say in /usr/local/bin) leads to the stack it points into.
script=$0
if [ -L "$script" ] && command -v readlink >/dev/null 2>&1; then
    script=$(readlink -f "$script")
fi
case $script in
    */*) script_dir=${script%/*} ;;
    *) script_dir=. ;;
esac
cd "$script_dir" || die 3 "cannot enter the script's directory $script_dir"
stack_dir=$(pwd -P)

command -v docker >/dev/null 2>&1 || die 3 "docker is not installed (or not on PATH)"
docker compose version >/dev/null 2>&1 || die 3 "the docker compose plugin (compose v2) is not installed"
command -v sha256sum >/dev/null 2>&1 || die 3 "sha256sum (coreutils) is not installed"
# coreutils' timeout bounds `docker compose up` by --timeout; without it compose's own health
# check limits apply.
bounded_up=no
if timeout --foreground 5 true >/dev/null 2>&1; then
    bounded_up=yes
fi
[ -f docker-compose.yml ] || [ -f compose.yaml ] || [ -f compose.yml ] || [ -f docker-compose.yaml ] ||
    die 3 "no compose file in $stack_dir: this script belongs next to the stack's docker-compose.yml"

backups=backups
tmp_files=
images_file=
# shellcheck disable=SC2317 # both run from the traps below
cleanup() {
    for f in $tmp_files; do
        rm -f "$f"
    done
}
# shellcheck disable=SC2317
interrupted() {
    cleanup
    trap - INT TERM
    say "interrupted; temporary files removed. Check the stack with: docker compose ps"
    if [ -n "$images_file" ] && [ -f "$images_file" ]; then
        say "the images that ran before are listed in $images_file (service, image ID, tag)"
    fi
    exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

# Every service except the infrastructure, read from compose so the list follows the stack.
app_services() {
    all=$(docker compose config --services) || return 1
    for service in $all; do
        case $service in
            postgres | rabbitmq) ;;
            *) printf '%s ' "$service" ;;
        esac
    done
}

# The container IDs of a service, stopped ones included.
containers_of() {
    docker compose ps -a -q "$1"
}

postgres_running() {
    cid=$(docker compose ps -q postgres 2>/dev/null | head -n 1)
    [ -n "$cid" ] && [ "$(docker inspect -f '{{.State.Running}}' "$cid" 2>/dev/null)" = true ]
}

# pg_restore --list inside the postgres container, reading the file through stdin.
verify_dump() {
    [ -s "$1" ] || return 1
    docker compose exec -T postgres pg_restore --list >/dev/null <"$1"
}

# Takes, verifies and records a backup, and sets backup_path. $1 = prune (yes/no): keep the newest
# $keep afterwards.
take_backup() {
    postgres_running || die 4 "the postgres service is not running, so no backup can be taken; nothing was pulled or changed. Start it with: docker compose up -d postgres"
    mkdir -p "$backups"
    chmod 700 "$backups"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    while [ -e "$backups/$stamp.dump" ]; do
        sleep 1
        stamp=$(date -u +%Y%m%dT%H%M%SZ)
    done
    dump=$backups/$stamp.dump
    partial=$backups/.$stamp.dump.partial
    tmp_files="$tmp_files $partial $partial.sha256"
    say "backing up the database to $dump"
    # The container's own POSTGRES_USER / POSTGRES_DB: .env is never parsed by this shell.
    # shellcheck disable=SC2016 # expanded by the container's shell, not this one
    if ! docker compose exec -T postgres sh -c \
        'exec pg_dump -Fc -U "${POSTGRES_USER:-tamma}" "${POSTGRES_DB:-${POSTGRES_USER:-tamma}}"' \
        >"$partial"; then
        die 4 "pg_dump failed (see its message above); nothing was pulled or changed"
    fi
    [ -s "$partial" ] || die 4 "pg_dump wrote an empty backup; nothing was pulled or changed"
    verify_dump "$partial" ||
        die 4 "the backup does not verify: pg_restore --list cannot read it; nothing was pulled or changed"
    sum=$(sha256sum <"$partial")
    printf '%s  %s\n' "${sum%% *}" "$stamp.dump" >"$partial.sha256"
    mv "$partial" "$dump"
    mv "$partial.sha256" "$dump.sha256"
    size=$(wc -c <"$dump" | tr -d ' ')
    say "backup verified: $dump ($size bytes, sha256 ${sum%% *})"
    if [ "$1" = yes ]; then
        prune
    fi
    backup_path=$dump
}

# Keeps the newest $keep backups (names are UTC times, so name order is age order).
prune() {
    count=0
    for f in "$backups"/*.dump; do
        [ -e "$f" ] && count=$((count + 1))
    done
    excess=$((count - keep))
    for f in "$backups"/*.dump; do
        [ "$excess" -gt 0 ] || break
        [ -e "$f" ] || continue
        rm -f "$f" "$f.sha256" "${f%.dump}.images"
        say "removed old backup $f (keeping the newest $keep)"
        excess=$((excess - 1))
    done
}

# "service image" for every service with an image, from compose's canonical YAML (services at
# two spaces, their keys at four): the image reference compose runs, with .env applied.
configured_images() {
    docker compose config | awk '
        /^[^ ]/ { in_services = ($0 == "services:"); next }
        in_services && /^  [^ ]/ { service = $1; sub(/:$/, "", service); next }
        in_services && /^    image: / { image = $0; sub(/^    image: /, "", image); print service, image }'
}

# The repository of an image reference: without its digest and its tag (a colon after the last
# slash; the one in "host:port/" is not a tag).
repository_of() {
    ref=${1%@*}
    case ${ref##*/} in
        *:*) ref=${ref%:*} ;;
    esac
    printf '%s\n' "$ref"
}

# Prints one line per container of every application service, the format of backups/*.images:
#   service image-id configured-image registry-digest (or - for an image never pulled or pushed)
running_images() {
    configured_images >"$backups/.configured"
    tmp_files="$tmp_files $backups/.configured"
    for service in $apps; do
        configured=$(awk -v s="$service" '$1 == s { print $2 }' "$backups/.configured")
        [ -n "$configured" ] || die 3 "the service $service has no image in docker-compose.yml"
        repository=$(repository_of "$configured")
        cids=$(containers_of "$service")
        [ -n "$cids" ] || say "warning: $service has no container, so it has no image to go back to"
        for cid in $cids; do
            id=$(docker inspect -f '{{.Image}}' "$cid")
            digest=-
            for known in $(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$id"); do
                case $known in
                    "$repository"@*) digest=$known ;;
                esac
            done
            printf '%s %s %s %s\n' "$service" "$id" "$configured" "$digest"
        done
    done
    rm -f "$backups/.configured"
}

# Writes the images running now to $1, whole or not at all.
record_images() {
    tmp_files="$tmp_files $1.partial"
    running_images >"$1.partial"
    mv "$1.partial" "$1"
}

# Points each service's configured tag at the image it ran before. A tag works for every image
# (pulled, loaded or built here; only pulled ones have a registry digest), needs no registry,
# and a later plain `docker compose up -d` keeps the old image, unlike an override file.
# $2 = current-only: only where the running container was made from the configured tag (after a
# failed pull, which may have moved some tags, but a tag the stack does not run yet stays out).
retag_previous() {
    ok=yes
    while read -r service id configured _digest; do
        if [ "$2" = current-only ]; then
            running=
            for cid in $(containers_of "$service"); do
                running=$(docker inspect -f '{{.Config.Image}}' "$cid" 2>/dev/null) || running=
            done
            [ "$running" = "$configured" ] || continue
        fi
        if ! docker tag "$id" "$configured"; then
            say "cannot point $configured back at $id for $service"
            ok=no
        fi
    done <"$1"
    [ "$ok" = yes ]
}

# `docker compose up -d ARGS`, then waits for health, all within --timeout seconds. compose itself
# waits for each dependency's health check before it starts what depends on it (the dashboard
# waits for both APIs), so an image that never turns healthy would hold `up` until that check
# gives up (start period + retries x interval): `timeout` ends it at the deadline instead.
up_and_wait() {
    deadline=$(($(date +%s) + timeout))
    if [ "$bounded_up" = yes ]; then
        status=0
        timeout --foreground -k 10 "$timeout" docker compose up -d "$@" || status=$?
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
            say "docker compose up did not finish within $timeout s: a service it waits for is not healthy"
        fi
        [ "$status" -eq 0 ] || return 1
    else
        docker compose up -d "$@" || return 1
    fi
    wait_healthy
}

# Waits until every container of the stack is healthy (or running, without a health check).
# Fails at once when a container exited or keeps restarting, or at $deadline.
wait_healthy() {
    say "waiting up to $((deadline - $(date +%s))) s for every service to be healthy"
    while :; do
        pending=
        for service in $(docker compose config --services); do
            cids=$(containers_of "$service")
            if [ -z "$cids" ]; then
                pending="$pending $service(no container)"
                continue
            fi
            for cid in $cids; do
                state=$(docker inspect -f '{{.State.Status}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$cid" 2>/dev/null) ||
                    state="gone 0 none"
                # shellcheck disable=SC2086 # split into status, restarts, health
                set -- $state
                case $1 in
                    exited | dead)
                        say "$service has stopped ($1); its last log lines:"
                        docker logs --tail 20 "$cid" >&2 2>&1 || true
                        return 1
                        ;;
                esac
                if [ "$2" -ge 3 ]; then
                    say "$service keeps restarting ($2 restarts); its last log lines:"
                    docker logs --tail 20 "$cid" >&2 2>&1 || true
                    return 1
                fi
                if [ "$1" != running ] || { [ "$3" != healthy ] && [ "$3" != none ]; }; then
                    pending="$pending $service($1/$3)"
                fi
            done
        done
        if [ -z "$pending" ]; then
            say "every service is healthy"
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "not healthy after $timeout s:$pending"
            return 1
        fi
        sleep 2
    done
}

apps=$(app_services) || die 3 "docker compose cannot read the stack in $stack_dir (see above)"
apps=${apps% }

case $mode in
    backup)
        take_backup yes
        printf '%s\n' "$backup_path"
        exit 0
        ;;
    restore)
        [ -f "$restore_file" ] || die 8 "no such backup file: $restore_file"
        postgres_running || die 8 "the postgres service is not running; start it with: docker compose up -d postgres"
        verify_dump "$restore_file" ||
            die 8 "$restore_file does not verify (pg_restore --list cannot read it); nothing was changed"
        if [ "$assume_yes" != yes ]; then
            [ -t 0 ] || die 9 "restoring replaces the database; not on a terminal, so pass --yes to confirm"
            printf 'Restore %s into the database, replacing its contents? Type yes: ' "$restore_file" >&2
            read -r answer || answer=
            [ "$answer" = yes ] || die 9 "restore not confirmed; nothing was changed"
        fi
        # A backup of what is there now, so the restore itself can be undone. Not pruned here:
        # pruning could remove the very file about to be restored.
        take_backup no
        say "stopping the application services: $apps"
        # shellcheck disable=SC2086 # one word per service
        docker compose stop $apps || die 8 "cannot stop the application services; nothing was restored"
        say "restoring $restore_file"
        # shellcheck disable=SC2016 # expanded by the container's shell, not this one
        if ! docker compose exec -T postgres sh -c \
            'exec pg_restore --clean --if-exists --single-transaction --exit-on-error -U "${POSTGRES_USER:-tamma}" -d "${POSTGRES_DB:-${POSTGRES_USER:-tamma}}"' \
            <"$restore_file"; then
            say "pg_restore failed; the database is as it was (one transaction). Starting the services again"
            up_and_wait || true
            die 8 "restore of $restore_file failed (see pg_restore's message above)"
        fi
        up_and_wait || die 8 "the database was restored from $restore_file, but the stack is not healthy; look at: docker compose ps"
        say "restored $restore_file (the database before it: $backup_path)"
        exit 0
        ;;
esac

[ -n "$apps" ] || die 3 "the stack has no application services (only postgres and rabbitmq)"

take_backup yes
images_file=${backup_path%.dump}.images
record_images "$images_file"
say "recorded the images running now in $images_file"

say "pulling the application services: $apps"
# shellcheck disable=SC2086 # one word per service
if ! docker compose pull $apps; then
    retag_previous "$images_file" current-only || true
    die 5 "docker compose pull failed (see above); the previous images were kept and nothing was restarted"
fi

say "starting the new images"
if up_and_wait; then
    say "update done; running now (service, image ID, image, registry digest):"
    running_images
    exit 0
fi

say "the update did not turn healthy; rolling the application services back to $images_file"
retag_previous "$images_file" all ||
    die 7 "the update failed and the previous images could not all be restored; look at: docker compose ps"
# shellcheck disable=SC2086 # one word per service
if up_and_wait --no-deps --force-recreate $apps; then
    die 6 "the update failed; the previous images run again and are healthy (backup: $backup_path)"
fi
die 7 "the update failed and the stack is not healthy after the rollback either; look at: docker compose ps, docker compose logs (backup: $backup_path, previous images: $images_file)"
