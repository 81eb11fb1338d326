"""What an export writes of the realm's settings: only what the configuration owns."""

from __future__ import annotations

from pathlib import Path

from bridge.realm.export_owned import only_owned


def _realm(removed: list[str]) -> dict:
    return {Path("realm.yaml"): {"realm": "r", "roles": [],
                                 "settings": {"removedClientScopes": removed}}}


def test_a_scope_the_configuration_did_not_remove_is_not_exported_as_removed() -> None:
    # Keycloak 26.4 never makes AuthnContextClassRef; 26.7 does. An export must not turn
    # "this release has no such scope" (or a scope deleted by hand) into configuration.
    files = _realm(["AuthnContextClassRef", "microprofile-jwt"])
    only_owned(files, {"removed-client-scope": {"microprofile-jwt"}})
    assert files[Path("realm.yaml")]["settings"]["removedClientScopes"] == ["microprofile-jwt"]


def test_no_owned_removal_leaves_no_key() -> None:
    files = _realm(["AuthnContextClassRef"])
    only_owned(files, {})
    assert "removedClientScopes" not in files[Path("realm.yaml")]["settings"]
