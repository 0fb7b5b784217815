"""tamma-update.sh on a real stack: the backup gate, the update, the rollback, retention, restore.

Each test runs the copy of the script that `tamma-ops init --full-stack` wrote into the stack,
from a directory that is not the stack's, as a user's cron job or shell would, against the whole
generated stack (five example images, the postgres and rabbitmq stand-ins) on the real engine,
its images coming from a real registry on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

from tamma_ops.init import envfile
from tests.integration.deployment import APP_IMAGES, free_port, stand_in_images
from tests.integration.update.stack import (
    HEALTH_INTERVALS,
    compose,
    container,
    deploy,
    health,
    inspect,
    psql,
    rows,
    run_script,
    running_images,
    start,
    take_down,
)

BEFORE = ["before-1", "before-2", "before-3"]
FRESH_ENV = ["-e", "POSTGRES_USER=tamma", "-e", "POSTGRES_PASSWORD=fresh"]
AS_TAMMA = ["-U", "tamma", "-d", "tamma"]


def ids_of(release, version: str) -> dict[str, str]:
    return {service: release.ids[image, version] for service, image in APP_IMAGES.items()}


def dumps(directory: Path) -> list[Path]:
    return sorted((directory / "backups").glob("*.dump"))


def restore_into_fresh_postgres(dump: Path) -> list[str]:
    """Loads `dump` into a new, empty Postgres and returns its notes."""
    name = f"tamma-ops-test-{uuid.uuid4().hex[:10]}"
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "io.tamma-ops.test=update",
            *FRESH_ENV,
            stand_in_images()["POSTGRES_IMAGE"],
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            # The entry point's initialisation server listens on another socket: this one
            # answers only once the real server runs.
            ready = subprocess.run(
                ["docker", "exec", name, "psql", "-U", "tamma", "-d", "tamma", "-c", "SELECT 1"],
                capture_output=True,
                check=False,
                timeout=30,
            )
            if ready.returncode == 0:
                break
            assert time.monotonic() < deadline, ready.stderr
            time.sleep(0.5)
        with dump.open("rb") as source:
            subprocess.run(
                ["docker", "exec", "-i", name, "pg_restore", "--exit-on-error", *AS_TAMMA],
                stdin=source,
                capture_output=True,
                check=True,
                timeout=120,
            )
        listed = subprocess.run(
            [
                "docker",
                "exec",
                name,
                "psql",
                *AS_TAMMA,
                "-Atc",
                "SELECT name FROM notes ORDER BY id",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return listed.stdout.split()
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)


def test_update_keeps_the_rows_and_its_backup_restores_into_a_fresh_postgres(release, stack):
    assert running_images(stack.directory) == ids_of(release, "v1")
    for image in APP_IMAGES.values():
        release.publish(image, "v2", stack.tag)

    result = run_script(stack.directory, "--timeout", "120", cwd=stack.elsewhere)

    assert result.returncode == 0, result.stderr
    assert running_images(stack.directory) == ids_of(release, "v2")
    assert set(health(stack.directory).values()) == {"healthy"}
    assert rows(stack.directory) == BEFORE
    # The script's compose read the stack's override file, as a user's compose does.
    for service in APP_IMAGES:
        interval = inspect(
            container(stack.directory, service), "{{json .Config.Healthcheck.Interval}}"
        )
        assert int(interval) == HEALTH_INTERVALS[service] * 1_000_000_000, service
    # stdout lists what runs now as backups/*.images does: the registry digest each came from.
    running = sorted(line.split() for line in result.stdout.splitlines())
    assert [line[:3] for line in running] == sorted(
        [service, release.ids[image, "v2"], f"{release.repository(image)}:{stack.tag}"]
        for service, image in APP_IMAGES.items()
    )
    assert all(line[3].startswith(f"{line[2].rsplit(':', 1)[0]}@sha256:") for line in running)
    backups = stack.directory / "backups"
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    [dump] = dumps(stack.directory)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    recorded = (backups / f"{dump.name}.sha256").read_text()
    assert recorded == f"{hashlib.sha256(dump.read_bytes()).hexdigest()}  {dump.name}\n"
    # The way back that was recorded: v1 of each service, under the tag the stack runs.
    images = dump.with_suffix(".images").read_text().splitlines()
    assert sorted(line.split()[:3] for line in images) == sorted(
        [service, release.ids[image, "v1"], f"{release.repository(image)}:{stack.tag}"]
        for service, image in APP_IMAGES.items()
    )
    assert not list(backups.glob(".*")), "temporary files left behind"
    assert restore_into_fresh_postgres(dump) == BEFORE


def test_an_update_that_never_turns_healthy_is_rolled_back(release, stack):
    # The engine and the dashboard wait for tamma-api's health, so `docker compose up` itself
    # would block until its health check gives up; --timeout bounds it.
    for image in APP_IMAGES.values():
        release.publish(image, "broken" if image == "tamma-api" else "v2", stack.tag)

    # Room for the rollback too: it recreates the five services along their dependency chain.
    result = run_script(stack.directory, "--timeout", "30", cwd=stack.elsewhere)

    assert result.returncode == 6, result.stderr
    assert "docker compose up did not finish within 30 s" in result.stderr
    assert "rolling the application services back" in result.stderr
    assert "previous images run again and are healthy" in result.stderr
    assert running_images(stack.directory) == ids_of(release, "v1")
    assert set(health(stack.directory).values()) == {"healthy"}
    assert rows(stack.directory) == BEFORE
    [dump] = dumps(stack.directory)
    # The registry digests recorded before the pull are those of the images running again.
    for service, image_id, _, digest in (
        line.split() for line in dump.with_suffix(".images").read_text().splitlines()
    ):
        assert running_images(stack.directory)[service] == image_id
        assert digest in inspect(image_id, "{{json .RepoDigests}}")


def test_with_postgres_stopped_nothing_is_pulled_or_changed(release, stack):
    for image in APP_IMAGES.values():
        release.publish(image, "v2", stack.tag)
    compose(stack.directory, "stop", "postgres")
    containers = {service: container(stack.directory, service) for service in APP_IMAGES}
    local_tags = {
        image: release.repository(image) + f":{stack.tag}" for image in APP_IMAGES.values()
    }

    result = run_script(stack.directory, cwd=stack.elsewhere)

    assert result.returncode == 4, result.stderr
    assert "postgres service is not running" in result.stderr
    assert "nothing was pulled" in result.stderr
    assert running_images(stack.directory) == ids_of(release, "v1")
    assert {service: container(stack.directory, service) for service in APP_IMAGES} == containers
    for image, reference in local_tags.items():
        inspected = subprocess.run(
            ["docker", "image", "inspect", "-f", "{{.Id}}", reference],
            capture_output=True,
            text=True,
            check=True,
        )
        assert inspected.stdout.strip() == release.ids[image, "v1"], "the new version was pulled"
    assert not (stack.directory / "backups").exists()


def test_retention_keeps_exactly_the_newest_n_backups(stack):
    made = []
    for _ in range(4):
        result = run_script(stack.directory, "--backup-only", "--keep", "2", cwd=stack.elsewhere)
        assert result.returncode == 0, result.stderr
        made.append(stack.directory / result.stdout.strip())

    assert dumps(stack.directory) == made[-2:]
    names = {path.name for path in (stack.directory / "backups").iterdir()}
    assert names == {name for dump in made[-2:] for name in (dump.name, f"{dump.name}.sha256")}


def test_restore_brings_back_the_rows_of_the_chosen_backup(stack):
    chosen = run_script(stack.directory, "--backup-only", cwd=stack.elsewhere)
    assert chosen.returncode == 0, chosen.stderr
    psql(
        stack.directory,
        "DELETE FROM notes WHERE name = 'before-2'; INSERT INTO notes (name) VALUES ('after')",
    )
    later = run_script(stack.directory, "--backup-only", cwd=stack.elsewhere)
    assert later.returncode == 0, later.stderr
    # A path relative to where the user stands, not to the stack directory.
    relative = Path("..") / stack.directory.name / chosen.stdout.strip()

    refused = run_script(stack.directory, "--restore", str(relative), cwd=stack.elsewhere)
    assert refused.returncode == 9, refused.stderr
    assert "--yes" in refused.stderr
    assert rows(stack.directory) == ["before-1", "before-3", "after"]

    restored = run_script(stack.directory, "--restore", str(relative), "--yes", cwd=stack.elsewhere)

    assert restored.returncode == 0, restored.stderr
    assert rows(stack.directory) == BEFORE
    assert set(health(stack.directory).values()) == {"healthy"}
    # The database as it was before the restore was backed up first.
    newest = dumps(stack.directory)[-1]
    assert restore_into_fresh_postgres(newest) == ["before-1", "before-3", "after"]


def test_a_backup_that_does_not_verify_is_refused(stack):
    bogus = stack.elsewhere / "bogus.dump"
    bogus.write_bytes(b"not a dump\n")

    result = run_script(stack.directory, "--restore", str(bogus), "--yes", cwd=stack.elsewhere)

    assert result.returncode == 8, result.stderr
    assert "does not verify" in result.stderr
    assert rows(stack.directory) == BEFORE


def test_through_a_link_elsewhere_it_finds_its_stack_and_prints_no_secret(stack):
    link = stack.elsewhere / "tamma-update"
    link.symlink_to(stack.directory / "tamma-update.sh")

    result = subprocess.run(
        [str(link), "--backup-only"],
        cwd=stack.elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (stack.directory / result.stdout.strip()).is_file()
    values = envfile.values((stack.directory / ".env").read_text())
    for secret in ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "GITHUB_TOKEN", "ANTHROPIC_API_KEY"):
        assert len(values[secret]) >= 16, secret
        assert values[secret] not in result.stdout + result.stderr, secret


def test_a_failed_pull_restarts_nothing(release, tmp_path):
    """A registry that does not answer: the pull fails, the stack keeps running what it ran."""
    dead = f"127.0.0.1:{free_port()}"
    tag = "unreachable"
    for image in APP_IMAGES.values():
        release.tag(release.ids[image, "v1"], f"{dead}/{release.owner}/{image}:{tag}")
    directory = deploy(tmp_path, dead, release.owner, tag)
    try:
        start(directory)
        before = {service: container(directory, service) for service in APP_IMAGES}

        result = run_script(directory, "--timeout", "30", cwd=tmp_path)

        assert result.returncode == 5, result.stderr
        assert "pull failed" in result.stderr
        assert {service: container(directory, service) for service in APP_IMAGES} == before
        assert running_images(directory) == ids_of(release, "v1")
        assert len(dumps(directory)) == 1
    finally:
        take_down(directory)


def test_sigterm_while_waiting_for_health_exits_130_and_names_the_way_back(release, stack):
    # Nothing waits for the dashboard: `docker compose up` returns and the script waits.
    release.publish("tamma-dashboard", "broken", stack.tag)
    with subprocess.Popen(
        [str(stack.directory / "tamma-update.sh"), "--timeout", "300"],
        cwd=stack.elsewhere,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as script:
        try:
            assert script.stderr is not None
            seen = []
            for line in script.stderr:
                seen.append(line)
                if "for every service to be healthy" in line:
                    break
            script.send_signal(signal.SIGTERM)
            rest = script.stderr.read()
            assert script.wait(timeout=60) == 130, "".join(seen) + rest
        finally:
            if script.poll() is None:
                script.kill()
    [dump] = dumps(stack.directory)
    assert f"listed in backups/{dump.stem}.images" in rest
    assert not list((stack.directory / "backups").glob(".*")), "temporary files left behind"
