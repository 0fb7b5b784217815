from __future__ import annotations

import pytest

from tamma_ops.errors import ManifestError
from tamma_ops.manifest import default_manifest, load_manifest


def test_the_default_probes_every_full_stack_service_with_a_port_and_the_dashboard_proxy():
    probes = {(p.service, p.port, p.path, p.status) for p in default_manifest().smoke.probes}
    assert probes == {
        ("elsa-server", 5000, "/health", 200),
        ("tamma-api-dotnet", 3000, "/health", 200),
        ("tamma-api", 3100, "/health", 200),
        ("tamma-dashboard", 3001, "/", 200),
        ("tamma-dashboard", 3001, "/api/health", 200),
    }
    assert default_manifest().smoke.one_shot == ()


def test_a_manifest_replaces_the_probes_and_keeps_the_images(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        '[smoke]\none_shot = ["migrate"]\n'
        '[[smoke.probes]]\nservice = "web"\nport = 8080\nbody_regex = "ok|fine"\n'
    )
    manifest = load_manifest(tmp_path, path)
    assert [p.name for p in manifest.smoke.probes] == ["web:8080/"]
    assert manifest.smoke.one_shot == ("migrate",)
    assert len(manifest.images) == 5


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('service = "web"\nport = 70000', "smoke.probes.0.port"),
        ('service = "web"\nport = 80\npath = "health"', "must be an absolute path"),
        ('service = "web"\nport = 80\nbody_regex = "("', "not a valid regular expression"),
        ('service = "web"\nport = 80\nexpect = 200', "smoke.probes.0.expect: Extra inputs"),
    ],
)
def test_bad_probes_are_refused_naming_the_field(tmp_path, body, problem):
    path = tmp_path / "m.toml"
    path.write_text(f"[[smoke.probes]]\n{body}\n")
    with pytest.raises(ManifestError, match="invalid manifest") as caught:
        load_manifest(tmp_path, path)
    assert problem in caught.value.message
