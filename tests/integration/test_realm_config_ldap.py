"""LDAP user federation as code on a real Keycloak, with no LDAP server: the provider
points at a closed loopback port. Applying it writes the component and its mappers and
never syncs users nor tests the connection; nothing at all is written when the
configuration declares none; drift reverted, hand-made mappers kept, a provider is never
deleted by an apply, bad input refused."""

from __future__ import annotations

import socket
from pathlib import Path

from bridge.keycloak.client import AdminGateway
from bridge.realm import desired, engine
from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import config_with, converged, refused

STORAGE = "org.keycloak.storage.UserStorageProvider"
MAPPER = "org.keycloak.storage.ldap.mappers.LDAPStorageMapper"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once closed


def _federation(url: str, department: str = "departmentNumber") -> dict:
    return {"name": "corporate-ldap", "config": {
        "connectionUrl": url, "usersDn": "ou=people,dc=example,dc=com",
        "bindDn": "cn=reader,dc=example,dc=com", "bindCredential": "${LDAP_BIND_CREDENTIAL}",
        "authType": "simple", "vendor": "other", "editMode": "READ_ONLY",
        "usernameLDAPAttribute": "uid", "rdnLDAPAttribute": "uid",
        "uuidLDAPAttribute": "entryUUID", "userObjectClasses": "inetOrgPerson",
        "searchScope": "1", "importEnabled": True, "syncRegistrations": False,
        "fullSyncPeriod": "-1", "changedSyncPeriod": "-1", "enabled": True, "priority": 0},
        "mappers": [
            {"name": "email", "providerId": "user-attribute-ldap-mapper", "config": {
                "ldap.attribute": "mail", "user.model.attribute": "email",
                "read.only": True, "always.read.value.from.ldap": True,
                "is.mandatory.in.ldap": False}},
            {"name": "department", "providerId": "user-attribute-ldap-mapper", "config": {
                "ldap.attribute": department, "user.model.attribute": "department",
                "read.only": True, "always.read.value.from.ldap": True,
                "is.mandatory.in.ldap": False}}]}


def _config(tmp_path: Path, federation: dict | None) -> Path:
    files = {"ldap.yaml": {"userFederation": [federation]}} if federation else {}
    return config_with(tmp_path, files)


def _providers(realm: RealmUnderTest) -> dict[str, dict]:
    return {c["name"]: c for c in realm.admin.get(f"/{realm.name}/components", type=STORAGE)}


def _mappers(realm: RealmUnderTest, provider_id: str) -> dict[str, dict]:
    return {c["name"]: c for c in realm.admin.get(f"/{realm.name}/components",
                                                  type=MAPPER, parent=provider_id)}


def test_nothing_is_applied_when_not_configured(fresh_realm: RealmUnderTest,
                                               tmp_path: Path) -> None:
    config = _config(tmp_path, None)
    assert not [c for c in fresh_realm.plan(config).changes if "federation" in c.kind]
    assert _providers(fresh_realm) == {}


def test_ldap_converges_without_contacting_ldap_and_drift_is_reverted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    url = f"ldap://127.0.0.1:{_closed_port()}"
    fresh_realm.env["LDAP_BIND_CREDENTIAL"] = "reader-secret-42"
    config = _config(tmp_path, _federation(url))
    # Applied with a gateway of its own, to read what it called.
    gateway = AdminGateway.with_password(fresh_realm.keycloak.url,
                                         fresh_realm.keycloak.admin_username,
                                         fresh_realm.keycloak.admin_password)
    engine.apply(gateway, engine.plan(gateway, desired.load(config, fresh_realm.env),
                                      fresh_realm.name))
    called = " ".join(gateway.calls.by_kind)
    assert "user-storage" not in called and "testLDAPConnection" not in called
    assert "ldap-server-capabilities" not in called
    converged(fresh_realm, config)
    provider = _providers(fresh_realm)["corporate-ldap"]
    assert provider["config"]["connectionUrl"] == [url]
    assert provider["config"]["bindCredential"] == ["**********"]
    mappers = _mappers(fresh_realm, provider["id"])
    assert mappers["department"]["config"]["ldap.attribute"] == ["departmentNumber"]
    assert mappers["email"]["config"]["always.read.value.from.ldap"] == ["true"]
    assert "username" in mappers  # one of Keycloak's default mappers, left as made
    assert len([m for m in mappers.values() if m["name"] == "email"]) == 1
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users/count") == 0

    # Drift by hand: the provider made writable, a mapper re-pointed.
    base = f"/{fresh_realm.name}/components"
    fresh_realm.admin.put(f"{base}/{provider['id']}", {
        **provider, "config": {**provider["config"], "editMode": ["WRITABLE"]}})
    department = mappers["department"]
    fresh_realm.admin.put(f"{base}/{department['id']}", {
        **department, "config": {**department["config"], "ldap.attribute": ["ou"]}})
    plan = fresh_realm.plan(config)
    assert sorted((c.kind, c.key, tuple(f.path for f in c.fields)) for c in plan.changes) == [
        ("user-federation", "corporate-ldap", ("config.editMode",)),
        ("user-federation-mapper", "corporate-ldap/department", ("config.ldap.attribute",))]
    converged(fresh_realm, config)
    provider = _providers(fresh_realm)["corporate-ldap"]
    assert provider["config"]["editMode"] == ["READ_ONLY"]
    assert _mappers(fresh_realm, provider["id"])["department"]["config"][
        "ldap.attribute"] == ["departmentNumber"]


def test_hand_made_mappers_are_kept_and_a_provider_is_never_deleted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    fresh_realm.env["LDAP_BIND_CREDENTIAL"] = "reader-secret-42"
    config = _config(tmp_path, _federation(f"ldap://127.0.0.1:{_closed_port()}"))
    converged(fresh_realm, config)
    provider = _providers(fresh_realm)["corporate-ldap"]
    fresh_realm.admin.post(f"/{fresh_realm.name}/components", {
        "name": "phone", "providerId": "user-attribute-ldap-mapper", "providerType": MAPPER,
        "parentId": provider["id"], "config": {
            "ldap.attribute": ["telephoneNumber"], "user.model.attribute": ["phone"],
            "read.only": ["true"], "always.read.value.from.ldap": ["true"],
            "is.mandatory.in.ldap": ["false"]}})
    assert fresh_realm.plan(config).empty
    # Dropped from the configuration: its mappers are pruned, the provider is kept (its
    # imported users would go with it) and the plan says so.
    plan = fresh_realm.plan(_config(tmp_path, None))
    assert sorted((c.kind, c.key, c.action) for c in plan.changes) == [
        ("user-federation-mapper", "corporate-ldap/department", "delete"),
        ("user-federation-mapper", "corporate-ldap/email", "delete")]
    assert any("user federation corporate-ldap is kept" in n for n in plan.notes)
    engine.apply(fresh_realm.admin, plan)
    mappers = _mappers(fresh_realm, _providers(fresh_realm)["corporate-ldap"]["id"])
    assert "phone" in mappers and "department" not in mappers


def test_invalid_ldap_names_file_and_key_and_nothing_is_written(fresh_realm: RealmUnderTest,
                                                                tmp_path: Path) -> None:
    fresh_realm.env["LDAP_BIND_CREDENTIAL"] = "reader-secret-42"
    refused(fresh_realm, _config(tmp_path, _federation("http://127.0.0.1:389")),
            "ldap.yaml: userFederation[0]: Value error, config.connectionUrl must be an "
            "ldap:// or ldaps:// URL")
    del fresh_realm.env["LDAP_BIND_CREDENTIAL"]
    refused(fresh_realm, _config(tmp_path, _federation("ldap://127.0.0.1:389")),
            "ldap.yaml: userFederation[0].config.bindCredential: environment variable "
            "LDAP_BIND_CREDENTIAL is not set")
    assert _providers(fresh_realm) == {}
