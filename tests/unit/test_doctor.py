from __future__ import annotations

from tamma_ops.doctor import LOW_DISK_BYTES, Check, check_disk, failures


def test_disk_check_measures_the_engine_root(tmp_path):
    check = check_disk(str(tmp_path))
    assert check.name == "disk"
    assert str(tmp_path) in check.detail
    assert check.required is False


def test_missing_engine_root_falls_back_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) in check_disk("/no/such/root").detail


def test_low_disk_warns_with_a_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "tamma_ops.doctor.shutil.disk_usage",
        lambda _path: type("Usage", (), {"free": LOW_DISK_BYTES - 1})(),
    )
    check = check_disk(str(tmp_path))
    assert not check.ok
    assert "docker system prune" in (check.fix or "")


def test_only_required_failures_fail_doctor():
    warn = Check("disk", ok=False, detail="low", required=False)
    assert failures([Check("engine", ok=True, detail=""), warn], {}) is None
    error = failures([Check("engine", ok=False, detail=""), warn], {})
    assert error is not None
    assert error.exit_code == 3
    assert error.message.startswith("engine not ready")


def test_compose_must_be_v2_and_new_enough_for_smoke(monkeypatch):
    import tamma_ops.doctor

    for version, ok in [
        ("2.26.1-4", True),
        ("v2.24.0", True),
        ("2.23.3", False),
        ("1.29.2", False),
        (None, False),
    ]:
        monkeypatch.setattr(tamma_ops.doctor, "_cli_version", lambda _env, *_args, v=version: v)
        check = tamma_ops.doctor.check_compose({})
        assert check.ok is ok, version
        if not ok:
            assert check.fix is not None
