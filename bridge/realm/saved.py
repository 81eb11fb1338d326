"""A reviewed plan, saved to a file and applied exactly (``plan --out FILE``, ``apply FILE``).

The file holds what a reviewer reads (the rendered plan, secrets masked), the changes as
kind, key, action and field paths, the configuration's directories, and the digests of the
configuration and of the live state the plan was computed from. It holds no secret value:
applying it re-reads the configuration and the realm, and goes ahead only when both digests
and the changes are those of the file, so what is applied is what was reviewed; anything
changed in between refuses the apply (plan again, review again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.realm.plan import Plan, render

FORMAT = "bridge-realm-plan/1"


class StalePlan(Exception):
    """The saved plan no longer describes what an apply would do; one line, for the CLI."""


def summary(plan: Plan) -> list[dict[str, Any]]:
    return [{"kind": c.kind, "key": c.key, "action": c.action,
             "fields": [f.path for f in c.fields]} for c in plan.changes]


def write(plan: Plan, directories: list[Path], path: Path) -> None:
    document = {
        "format": FORMAT,
        "realm": plan.realm,
        "createsRealm": plan.creates_realm,
        "config": [str(d.resolve()) for d in directories],
        "fingerprints": {"config": plan.config_fingerprint, "live": plan.live_fingerprint},
        "changes": summary(plan),
        "plan": render(plan),
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    realm: str
    directories: list[Path]
    config_fingerprint: str
    live_fingerprint: str
    changes: list[dict[str, Any]]


def read(path: Path) -> SavedPlan:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT:
            raise StalePlan(f"{path}: not a saved plan ({FORMAT})")
        return SavedPlan(path, document["realm"], [Path(d) for d in document["config"]],
                         document["fingerprints"]["config"],
                         document["fingerprints"]["live"], document["changes"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StalePlan(f"{path}: cannot read the saved plan ({exc})") from None


def check(saved: SavedPlan, fresh: Plan) -> None:
    """Raise StalePlan unless ``fresh`` (planned again now) is the saved plan."""
    if fresh.config_fingerprint != saved.config_fingerprint:
        raise StalePlan(f"{saved.path}: refused: the configuration changed since this plan "
                        "was written; run realm plan --out again and review it")
    if fresh.live_fingerprint != saved.live_fingerprint:
        raise StalePlan(f"{saved.path}: refused: realm {saved.realm} changed since this plan "
                        "was written; run realm plan --out again and review it")
    if summary(fresh) != saved.changes:
        raise StalePlan(f"{saved.path}: refused: the changes differ from the saved plan's; "
                        "run realm plan --out again and review it")
