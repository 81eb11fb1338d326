"""Keycloak's own clients of the product realm (admin-cli, account...) are hardened through
realm-config/, field by field: a plan manages the fields the configuration names on them
and nothing else, and never deletes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.realm.desired import load
from bridge.realm.kinds.client_scopes import RemovedClientScopes
from bridge.realm.kinds.clients import BUILTIN_CLIENTS, Clients
from bridge.realm.kinds.settings import Settings
from tests.conftest import REALM_CONFIG

pytestmark = pytest.mark.unit

ENV = {"BRIDGE_CLIENT_SECRET": "b", "HR_SCIM_CLIENT_SECRET": "h"}


def test_only_the_fields_configured_on_a_builtin_client_are_managed(tmp_path: Path) -> None:
    (tmp_path / "realm.yaml").write_text(
        "realm: r\n"
        "clients:\n"
        "  - clientId: admin-cli\n"
        "    directAccessGrantsEnabled: false\n"
        "  - clientId: own-app\n"
        "    publicClient: true\n", encoding="utf-8")
    desired = Clients().desired(load(tmp_path, ENV))
    assert desired["admin-cli"] == {"directAccessGrantsEnabled": False}
    # A client of the product's own keeps its defaults (enabled, protocol).
    assert desired["own-app"]["enabled"] is True
    assert desired["own-app"]["protocol"] == "openid-connect"


def test_builtin_clients_are_never_pruned() -> None:
    kind = Clients()
    assert all(kind.builtin(client_id, {"clientId": client_id})
               for client_id in BUILTIN_CLIENTS)


def test_the_shipped_realm_hardens_keycloaks_own_clients() -> None:
    """kcwarden's findings on a default realm (issue 9 finding 10), answered as code."""
    config = load(REALM_CONFIG, ENV)
    desired = Clients().desired(config)
    assert desired["admin-cli"] == {"directAccessGrantsEnabled": False}
    assert desired["account"] == {"attributes": {"pkce.code.challenge.method": "S256"}}
    # offline_access goes from every client at once, with the scope itself.
    assert RemovedClientScopes().desired(config) == {"offline_access": {"present": False}}
    assert not [c for c in desired.values()
                if "offline_access" in (c.get("optionalClientScopes") or ())]
    assert Settings().desired(config)["settings"].get("removedClientScopes") is None
