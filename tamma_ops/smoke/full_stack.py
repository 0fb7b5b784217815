"""Which stack a smoke run tests: the user's compose files, or the stack ``init`` writes.

``smoke --full-stack`` renders init's own templates into a temporary directory, with throwaway
secrets, for the images of one registry, owner and tag, so CI tests exactly the files users
deploy and no second compose file can drift from them. The user's ``--env-file`` files are laid
over the rendered ``.env`` (compose reads later env files over earlier ones), e.g. the offline
stand-ins of examples/offline.env. ``stack_source`` picks between the two kinds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tamma_ops.init.settings import KNOWN_KEYS
from tamma_ops.init.stack import StackSettings, render_stack
from tamma_ops.init.templates import ENV_FILE
from tamma_ops.plan import Destination, PlanOptions, plan_for
from tamma_ops.smoke.source import StackSource, from_files, new_project_name

if TYPE_CHECKING:
    from tamma_ops.manifest import Manifest
    from tamma_ops.smoke.override import ImagePins

log = logging.getLogger(__name__)

COMPOSE_FILE = "docker-compose.yml"
# What a smoke run takes from its caller's environment, as `init` would.
CALLER_SETTINGS = ("POSTGRES_IMAGE", "RABBITMQ_IMAGE", "LOG_LEVEL")


@contextlib.contextmanager
def rendered_stack(
    *,
    registry: str,
    owner: str,
    version: str,
    env_files: tuple[Path, ...] = (),
    project: str | None = None,
    env: Mapping[str, str] | None = None,
    keep: bool = False,
) -> Iterator[StackSource]:
    """A source over init's templates rendered for ``registry/owner/tamma-…:version``.

    Infrastructure images and the log level come from ``env`` as `init` takes them (a mirror's
    postgres, say); every secret is throwaway, never the caller's (CI's GITHUB_TOKEN stays out).
    The directory and its secrets exist only inside the block, unless ``keep``: a stack left
    running needs the files it mounts (init-db.sql, nginx-dashboard.conf), and its operator the
    compose file and .env it runs from.
    """
    project = project or new_project_name()
    chosen = {key: (env or {})[key] for key in CALLER_SETTINGS if (env or {}).get(key)}
    settings = StackSettings.throwaway(
        registry=registry, owner=owner, version=version, project_name=project, **chosen
    )
    with contextlib.ExitStack() as lifetime:
        scratch = tempfile.mkdtemp(prefix="tamma-smoke-stack-")
        if keep:
            log.info("the rendered stack stays in %s", scratch)
        else:
            lifetime.callback(shutil.rmtree, scratch, ignore_errors=True)
        directory = Path(scratch) / "stack"
        render_stack(directory, settings)
        source = from_files(
            (directory / COMPOSE_FILE,), (directory / ENV_FILE, *env_files), project=project
        )
        yield dataclasses.replace(source, own_variables=KNOWN_KEYS)


def stack_source(
    *,
    full_stack: bool,
    compose_files: tuple[Path, ...],
    env_files: tuple[Path, ...],
    project: str | None,
    pins: ImagePins,
    plan_options: PlanOptions,
    manifest: Manifest,
    env: Mapping[str, str],
    keep: bool = False,
) -> contextlib.AbstractContextManager[StackSource]:
    """The user's compose files, or (``full_stack``) init's templates rendered for the images of
    the plan's registry and owner: at ``pins.tag``, else the plan's sha- tag."""
    if not full_stack:
        return contextlib.nullcontext(from_files(compose_files, env_files, project=project))
    where = Destination.resolve(
        manifest, env=env, registry=plan_options.registry, owner=plan_options.owner
    )
    # Digests pin every image of the manifest, whatever tag the rendered .env names.
    version = pins.tag or ("latest" if pins.digests else plan_for(plan_options, env).sha_tag())
    return rendered_stack(
        registry=where.registry,
        owner=where.owner,
        version=version,
        env_files=env_files,
        project=project,
        env=env,
        keep=keep,
    )
