"""What the two configuration loaders share (``realm-config/`` in :mod:`bridge.realm.desired`,
the access catalog in :mod:`bridge.catalog.load`): the error both report, so the CLI shows
them alike, and ``${VAR}`` substitution. It imports nothing of the bridge, so the catalog
and the realm configuration can both build on it without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` are ``file: key.path: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ${VAR} or ${VAR:-default}; $${...} escapes a literal.
_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def substitute(value: Any, env: Mapping[str, str], where: str, problems: list[str]) -> Any:
    """Replace ``${VAR}`` in every string scalar; structure never comes from a variable."""
    if isinstance(value, str):
        def repl(match: re.Match[str]) -> str:
            escaped, name, default = match.groups()
            if escaped:
                return match.group(0)[1:]
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{where}: environment variable {name} is not set")
            return ""
        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, env, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: substitute(v, env, f"{where}.{k}" if where else str(k), problems)
                for k, v in value.items()}
    return value
