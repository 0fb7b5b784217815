"""``tamma-ops init --full-stack``: a ready-to-run deployment directory, without the source."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

log = logging.getLogger(__name__)

EPILOG = """\b
Examples:
  tamma-ops init --full-stack                       here, asking for the secrets
  tamma-ops init --full-stack --dir /srv/tamma --version 1.4.2
  tamma-ops init --full-stack --non-interactive --dir /srv/tamma
                                                    secrets from the environment (CI, scripts)
  tamma-ops init --full-stack --force               regenerate, keeping the secrets

\b
Without a terminal (or with --non-interactive) GITHUB_TOKEN, ANTHROPIC_API_KEY, GITHUB_OWNER
and GITHUB_REPO come from the environment, as may POSTGRES_IMAGE, RABBITMQ_IMAGE,
DASHBOARD_BIND, DASHBOARD_PORT, LOG_LEVEL, POSTGRES_USER, POSTGRES_DB and RABBITMQ_USER.
"""


def _ask(prompt: str, hidden: bool) -> str:
    try:
        answer: str = click.prompt(prompt, hide_input=hidden, err=True)
    except click.Abort:
        # click turns Ctrl-C (and Ctrl-D) at a prompt into Abort, exit 1: an interruption is 130.
        raise KeyboardInterrupt from None
    return answer


@click.command(epilog=EPILOG)
@click.option(
    "--full-stack",
    is_flag=True,
    required=True,
    help="Generate the whole stack (the only kind of deployment so far).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default="current directory",
    help="Where to write the files (created if missing).",
)
@click.option(
    "--registry",
    envvar="TAMMA_REGISTRY",
    help="Registry of the Tamma images [env: TAMMA_REGISTRY; default: ghcr.io].",
)
@click.option(
    "--owner",
    envvar="TAMMA_OWNER",
    help="Namespace of the Tamma images [env: TAMMA_OWNER; default: meywd].",
)
@click.option(
    "--version",
    "version",
    envvar="TAMMA_VERSION",
    help="Image tag to pin [env: TAMMA_VERSION; default: the highest release, else latest].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace existing files, keeping NAME.bak-<time> copies and the secrets.",
)
@click.option(
    "--non-interactive", is_flag=True, help="Never prompt: take the secrets from the environment."
)
def command(
    *,
    full_stack: bool,
    directory: Path,
    registry: str | None,
    owner: str | None,
    version: str | None,
    force: bool,
    non_interactive: bool,
) -> None:
    """Write docker-compose.yml, .env, init-db.sql, nginx-dashboard.conf, tamma-update.sh,
    .gitignore and README.md into a directory, ready for `docker compose up -d`.

    On a terminal it asks for the GitHub token and Anthropic key (hidden) and the repository;
    database and broker passwords are generated. Existing files are never replaced without
    --force. Exits 2 on missing or malformed values, writing nothing.
    """
    from tamma_ops.init.compose import compose_check
    from tamma_ops.init.deployment import InitOptions, create_deployment

    del full_stack  # required: the only kind of deployment so far
    interactive = not non_interactive and sys.stdin.isatty()
    check = compose_check(os.environ)
    if check is None:
        log.warning("docker compose is not installed: the files are not checked before use")
    options = InitOptions(directory, registry, owner, version, force, interactive)
    deployment = create_deployment(
        options, os.environ, ask=_ask if interactive else None, list_tags=_tags, check=check
    )
    settings = deployment.settings
    version_line = f"TAMMA_VERSION={settings.env['TAMMA_VERSION']}: {deployment.version_reason}"
    if settings.env["TAMMA_VERSION"] == "latest" and version is None:
        log.warning(version_line)
    else:
        log.info(version_line)
    for backup in deployment.stack.backups:
        log.info("kept the previous %s as %s", backup.name.split(".bak-")[0], backup.name)
    where = deployment.stack.directory.resolve()
    click.echo(f"Wrote {', '.join(path.name for path in deployment.stack.files)} to {where}")
    if deployment.checked:
        click.echo("docker compose config: ok")
    click.echo(
        "\nNext steps:\n"
        f"  cd {_shell_path(where)}\n"
        "  docker compose up -d\n"
        f"  open {settings.dashboard_url}  (the dashboard, once `docker compose ps` is healthy)\n"
        "  ./tamma-update.sh  (later: pull new images and restart, after a database backup)"
    )


def _tags(host: str, repository: str) -> list[str]:
    """The repository's tags, asked as the anonymous user who will pull them.

    Bounded tighter than a push: a registry out of reach costs seconds, then init pins `latest`.
    """
    from tamma_ops.registry import RegistryClient
    from tamma_ops.retry import RetryPolicy

    policy = RetryPolicy(attempts=2, seconds=10.0)
    with RegistryClient(host, retry=policy, timeout=10.0) as registry:
        return registry.tags(repository)


def _shell_path(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
