"""Helpers for the realm-config kinds' integration tests: realm-config plus one file of
the kind under test, applied through the library and through the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REALM_CONFIG, RealmUnderTest


def config_with(tmp_path: Path, files: dict[str, Any],
                edit_realm: dict[str, Any] | None = None,
                drop_settings: tuple[str, ...] = ()) -> Path:
    """realm-config/ (without examples) plus ``files`` (relative path → YAML document);
    ``edit_realm`` is laid over realm.yaml's settings, ``drop_settings`` taken out."""
    target = tmp_path / "realm-config"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REALM_CONFIG, target, ignore=shutil.ignore_patterns("examples"))
    for relative, document in files.items():
        (target / relative).write_text(yaml.safe_dump(document, sort_keys=False))
    if edit_realm or drop_settings:
        realm_file = target / "realm.yaml"
        realm = yaml.safe_load(realm_file.read_text())
        realm["settings"].update(edit_realm or {})
        for name in drop_settings:
            realm["settings"].pop(name, None)
        realm_file.write_text(yaml.safe_dump(realm, sort_keys=False))
    return target


def bridge(realm: RealmUnderTest, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True,
                          text=True, env=realm.cli_env(), timeout=120, check=False)


def cli_apply(realm: RealmUnderTest, config: Path) -> subprocess.CompletedProcess[str]:
    return bridge(realm, "realm", "apply", str(config), "--realm", realm.name)


def changes(realm: RealmUnderTest, config: Path) -> list[tuple[str, str, str]]:
    """The plan as (kind, key, action), sorted."""
    return sorted((c.kind, c.key, c.action) for c in realm.plan(config).changes)


def converged(realm: RealmUnderTest, config: Path) -> None:
    """Apply, then the plan is empty (and the CLI's plan says so, exit 0)."""
    realm.apply(config)
    leftover = realm.plan(config)
    assert leftover.empty, [(c.kind, c.key, c.fields) for c in leftover.changes]
    result = bridge(realm, "realm", "plan", str(config), "--realm", realm.name)
    assert result.returncode == 0, result.stdout + result.stderr


def refused(realm: RealmUnderTest, config: Path, *expected: str) -> str:
    """Apply through the CLI fails with exit 1 before any write, naming each ``expected``
    text (file and key); returns stderr."""
    result = cli_apply(realm, config)
    assert result.returncode == 1, result.stdout + result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "", result.stdout
    return result.stderr
