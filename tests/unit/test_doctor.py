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
