"""Reproducible installs: constraints.txt pins everything, ./dev installs within it and
reinstalls when it or pyproject.toml changes; the linters and the test runner are bounded."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[\w.+-]+", version), f"not an exact pin: {line}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    found = []
    for requirement in map(Requirement, (*project["dependencies"], *extras["dev"],
                                         *extras["test"])):
        if requirement.name == project["name"]:  # this package's own extras (test: otel)
            found += [Requirement(r) for extra in sorted(requirement.extras)
                      for r in extras[extra]]
        else:
            found.append(requirement)
    return found


def test_every_declared_dependency_is_pinned_within_its_bounds() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]} outside {requirement}")
    # Dependencies of dependencies are pinned too (a lock, not just the direct ones).
    assert {"werkzeug", "pluggy", "urllib3", "jinja2"} <= set(pins)


def test_the_linter_and_the_test_runner_have_upper_bounds() -> None:
    bounded = {r.name.lower(): r for r in _requirements()}
    for tool in ("ruff", "pytest"):
        assert any(spec.operator in ("<", "==", "~=") for spec in bounded[tool].specifier), (
            f"{tool} is unbounded: a new release could break a fresh machine's lint/test")


def _need_venv(workdir: Path, venv: Path) -> list[str]:
    """Run ./dev's need_venv in ``workdir`` with a stand-in venv python that records its
    arguments; return the commands it ran."""
    script = (REPO / "dev").read_text(encoding="utf-8")
    functions = "\n".join(re.findall(r"^(need_python\(\) \{.*?^\}|need_venv\(\) \{.*?^\})",
                                     script, re.MULTILINE | re.DOTALL))
    assert "need_venv()" in functions and "need_python()" in functions
    record = workdir / "ran.txt"
    record.unlink(missing_ok=True)
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nVENV={venv}\n{functions}\nneed_venv"],
        cwd=workdir, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "RECORD": str(record)})
    assert result.returncode == 0, result.stderr
    return record.read_text().splitlines() if record.exists() else []


def test_dev_installs_within_the_constraints_and_only_when_they_change(
        tmp_path: Path) -> None:
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copyfile(REPO / name, tmp_path / name)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stand_in = venv / "bin" / "python"
    stand_in.write_text('#!/bin/sh\necho "$*" >> "$RECORD"\n')
    stand_in.chmod(0o755)

    first = _need_venv(tmp_path, venv)
    assert "-m pip install --progress-bar off -c constraints.txt -e .[dev,test]" in first
    assert _need_venv(tmp_path, venv) == []  # nothing changed: no reinstall
    with (tmp_path / "constraints.txt").open("a") as constraints:
        constraints.write("example-package==1.0\n")
    assert any("-c constraints.txt" in line for line in _need_venv(tmp_path, venv))
    (tmp_path / "pyproject.toml").write_text(
        (tmp_path / "pyproject.toml").read_text() + "\n# edited\n")
    assert any("-c constraints.txt" in line for line in _need_venv(tmp_path, venv))
