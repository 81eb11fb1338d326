"""Installing the harness's Debian packages never starts their services."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge.local import packages


def test_services_are_not_started_while_apt_runs(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    monkeypatch.setattr(packages, "POLICY_RC_D", policy)
    monkeypatch.setattr(packages, "can_install", lambda: True)
    seen: list[tuple[list[str], bool, str]] = []

    def run(cmd: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        seen.append((cmd, policy.exists(), policy.read_text() if policy.exists() else ""))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(packages.subprocess, "run", run)
    assert packages.apt_install("nginx") is True
    assert [cmd[:2] for cmd, _, _ in seen] == [["apt-get", "update"], ["apt-get", "install"]]
    assert all(present and text.rstrip().endswith("exit 101") for _, present, text in seen)
    assert not policy.exists()  # removed afterwards


def test_an_existing_policy_is_left_alone(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    policy = tmp_path / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 0\n")
    monkeypatch.setattr(packages, "POLICY_RC_D", policy)
    monkeypatch.setattr(packages, "can_install", lambda: True)
    monkeypatch.setattr(packages.subprocess, "run",
                        lambda cmd, **_kw: subprocess.CompletedProcess(cmd, 1))
    assert packages.apt_install("postgresql") is False
    assert policy.read_text() == "#!/bin/sh\nexit 0\n"


def test_nothing_is_installed_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packages.os, "geteuid", lambda: 1000)
    assert packages.apt_install("nginx") is False
