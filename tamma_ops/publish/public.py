"""Whether each image can be pulled by anyone: the check behind ``verify-public``.

GitHub has no API that changes a container package's visibility; only the package's settings
page can. So tamma-ops checks instead, as an anonymous user would pull: an anonymous token when
the registry asks for one, then each tag's manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tamma_ops.errors import PushError, RegistryAuthError
from tamma_ops.publish import repository_path

if TYPE_CHECKING:
    from tamma_ops.plan import ImagePlan, Plan
    from tamma_ops.registry import RegistryClient


@dataclass(frozen=True)
class Visibility:
    name: str
    reference: str
    public: bool
    reason: str = ""
    settings_url: str = ""


def settings_url(registry: str, owner: str, name: str) -> str:
    """The page where the package's visibility is changed; empty when tamma-ops does not know."""
    if registry == "ghcr.io":
        return f"https://github.com/users/{owner}/packages/container/{name}/settings"
    return ""


def check_image(image: ImagePlan, tags: tuple[str, ...], anonymous: RegistryClient) -> Visibility:
    registry, _, path = image.repository.partition("/")
    owner = path.rpartition("/")[0]
    url = settings_url(registry, owner, image.name)
    for tag in tags:
        reference = f"{image.repository}:{tag}"
        try:
            digest = anonymous.manifest_digest(repository_path(image.repository), tag)
        except RegistryAuthError as exc:
            return Visibility(image.name, reference, False, f"refused: {exc.message}", url)
        except PushError as exc:
            return Visibility(image.name, reference, False, exc.message, url)
        if digest is None:
            return Visibility(image.name, reference, False, "no such tag", url)
    return Visibility(image.name, f"{image.repository}:{','.join(tags)}", True)


def check_public(
    plan: Plan, anonymous: RegistryClient, *, tags: tuple[str, ...] = ()
) -> list[Visibility]:
    """Each image of the plan, checked for ``tags`` (default: the plan's own tags)."""
    return [check_image(image, tags or image.tags, anonymous) for image in plan.images]


def failure(results: list[Visibility]) -> PushError | None:
    """The error listing every image an anonymous user cannot pull; None when all can."""
    private = [result for result in results if not result.public]
    if not private:
        return None
    lines = []
    for result in private:
        line = f"{result.name}: {result.reference}: {result.reason}"
        lines.append(
            line + (f"\n    make it public at {result.settings_url}" if result.settings_url else "")
        )
    on_ghcr = any(result.settings_url for result in private)
    fix = (
        "open each settings page, Danger Zone → Change visibility → Public (for an "
        "organisation the page is https://github.com/orgs/OWNER/packages/container/NAME/settings)"
        if on_ghcr
        else "make these repositories readable by anonymous users in the registry's settings"
    )
    count = len(private)
    return PushError(
        f"{count} image{'s are' if count != 1 else ' is'} not publicly pullable:\n  "
        + "\n  ".join(lines),
        fix=fix,
    )
