"""docs/security.md names the test proving each line of the threat model: every test it
names must exist, so the document cannot cite a test that was renamed or never written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
# `path/or/file.py::test_name` or `file.py::Class::test_name`, then `::more` for further
# names of the same file.
REFERENCE = re.compile(r"`((?:[\w/]+/)?test_\w+\.py)((?:::\w+)+)?`")
FOLLOWER = re.compile(r"`::(\w+)`")


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def _files(name: str) -> list[Path]:
    if "/" in name:
        return [ROOT / name]
    return sorted((ROOT / "tests").rglob(name))


def test_every_test_the_threat_model_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing: list[str] = []
    cited = 0
    for line in text.splitlines():
        last_file: list[Path] = []
        for match in re.finditer(r"`[^`]+`", line):
            token = match.group(0)
            reference = REFERENCE.fullmatch(token)
            follower = FOLLOWER.fullmatch(token)
            if reference:
                last_file = _files(reference.group(1))
                if not last_file or not all(p.is_file() for p in last_file):
                    missing.append(reference.group(1))
                    continue
                names = [n for n in (reference.group(2) or "").split("::") if n]
            elif follower and last_file:
                names = [follower.group(1)]
            else:
                continue
            defined = set().union(*(_defined(p) for p in last_file))
            for name in names:
                cited += 1
                if name not in defined:
                    missing.append(f"{last_file[0].name}::{name}")
    assert cited > 40, "the threat model should name the tests that prove it"
    assert missing == []
