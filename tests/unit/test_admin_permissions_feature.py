"""The bridge's service account views realm-management through a Fine-Grained Admin
Permission (v2) instead of the view-clients role; no Keycloak this project builds or ships
may turn that feature off (it is on by default in 26.7.5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.local.keycloak import BUILD_OPTIONS, PRODUCTION_BUILD_OPTIONS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FEATURE = "admin-fine-grained-authz"


def _switches_it_off(option: str) -> bool:
    name, _, value = option.partition("=")
    features = value.split(",")
    if name == "--features-disabled":
        return any(f.split(":")[0] == FEATURE for f in features)
    # Asking for v1 by name replaces v2.
    return name == "--features" and f"{FEATURE}:v1" in features


@pytest.mark.parametrize("options", [BUILD_OPTIONS, PRODUCTION_BUILD_OPTIONS],
                         ids=["dev", "production"])
def test_local_builds_keep_admin_permissions_v2(options: tuple[str, ...]) -> None:
    assert not [o for o in options if _switches_it_off(o)]


def test_compose_keeps_admin_permissions_v2() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    keycloak = compose["services"]["keycloak"]
    assert not [o for o in keycloak.get("command", []) if _switches_it_off(str(o))]
    assert FEATURE not in str((keycloak.get("environment") or {}).get("KC_FEATURES_DISABLED"))


def test_the_guard_sees_a_disabled_feature() -> None:
    assert _switches_it_off("--features-disabled=organization,admin-fine-grained-authz:v2")
    assert _switches_it_off("--features=admin-fine-grained-authz:v1")
    assert not _switches_it_off("--features=organization")
