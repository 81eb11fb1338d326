"""Facts → Keycloak desired state, and the catalog's realm fragments (no Keycloak here)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from bridge.catalog import mapping
from bridge.catalog.mapping import (
    assignment_from_attributes,
    expected_claims,
    managed_attributes,
    permission_values,
    user_state,
)
from bridge.catalog.model import Assignment, Catalog
from bridge.realm.desired import ConfigError, RealmConfig, load
from bridge.realm.from_catalog import merge_into, realm_fragments, token_mappers
from bridge.realm.kinds.clients import Clients
from bridge.realm.kinds.groups import Groups
from bridge.realm.model import Client
from tests.conftest import REALM_CONFIG

Seed = Callable[[str], Catalog]
ENV = {"BRIDGE_CLIENT_SECRET": "b", "HR_SCIM_CLIENT_SECRET": "h"}
SEED_IDS = ("000", "001", "002", "003", "004")


def test_groups_carry_the_client_roles_of_what_they_realise(seed: Seed) -> None:
    catalog = seed("004")
    fragments = realm_fragments(catalog)
    assert [r.name for r in fragments.client_roles["portal"]] == sorted(
        catalog.permission_by_name)
    kinds = {k.name: {g.name: g for g in k.subGroups} for k in fragments.group.subGroups}
    assert set(kinds) == {"status", "profile"}  # tenants are organizations
    full = kinds["profile"]["full-access"]
    assert full.clientRoles == {"portal": sorted(catalog.profile_by_name["full-access"].grants)}
    assert full.attributes == {"bridge.catalog.kind": ["profile"], "label": ["Full access"],
                               "rank": ["50"]}
    assert fragments.realm_roles == ()


def test_seed_tenants_become_organizations_with_their_caps(seed: Seed) -> None:
    catalog = seed("004")
    config = merge_into(RealmConfig(realm="r", clients=[Client(clientId="portal")]), catalog)
    assert config.settings.organizationsEnabled is True
    seeds = {t.alias: t.representation for t in config._seed_tenants}
    assert set(seeds) == {"dossier-acme", "dossier-bakery", "dossier-carpentry"}
    acme = seeds["dossier-acme"]["attributes"]
    assert acme["bridge.caps"] == ["payments.use"]
    assert acme["bridge.catalog"] == [catalog.name] and acme["bridge.state"] == ["active"]
    assert "bridge.caps" not in seeds["dossier-bakery"]["attributes"]
    without = merge_into(RealmConfig(realm="r", clients=[Client(clientId="portal")]),
                         seed("000"))
    assert without.settings.organizationsEnabled is None and without._seed_tenants == []


def test_toggle_groups_carry_additions(seed: Seed) -> None:
    kinds = {k.name: {g.name: g for g in k.subGroups}
             for k in realm_fragments(seed("002")).group.subGroups}
    assert kinds["toggle"]["client-bulk-edit"].clientRoles == {
        "portal": ["clients.bulk-edit", "clients.tags.edit"]}
    assert kinds["toggle"]["no-payments"].clientRoles == {}


def test_token_mappers_are_built_in_user_attribute_mappers(seed: Seed) -> None:
    mappers = {m.name: m for m in token_mappers(seed("000"))}
    assert set(mappers) == {"catalog user_type", "catalog status", "catalog profile",
                            "catalog permissions", "catalog roles",
                            "catalog perimeter project",
                            "catalog perimeter position", "catalog perimeter team",
                            "catalog perimeter_ref"}
    assert {m.protocolMapper for m in mappers.values()} == {"oidc-usermodel-attribute-mapper"}
    project = mappers["catalog perimeter project"].config
    assert project["user.attribute"] == "perimeter.project"
    assert project["claim.name"] == "perimeter.project"     # nested: perimeter → project
    assert project["multivalued"] == "true"
    assert project["access.token.claim"] == project["id.token.claim"] == "true"
    assert mappers["catalog profile"].config["multivalued"] == "false"
    # roles is the effective permissions too, never the groups' union (issue 9)
    assert mappers["catalog roles"].config["user.attribute"] == "permissions"
    assert mappers["catalog roles"].config["claim.name"] == "roles"
    assert {m.name for m in token_mappers(seed("004"))} >= {"catalog tenants"}
    three = {m.name: m for m in token_mappers(seed("003"))}
    assert three["catalog profile"].config["multivalued"] == "true"
    assert "catalog perimeter_ref" not in three       # seed 003 has no perimeter


@pytest.mark.parametrize("seed_id", SEED_IDS)
def test_fragments_merge_into_the_shipped_realm_config(seed: Seed, seed_id: str) -> None:
    catalog = seed(seed_id)
    config = load(REALM_CONFIG, ENV)
    merged = merge_into(config, catalog)
    assert merged is not config
    assert not any(g.name == "catalog" for g in config.groups[0].subGroups)  # untouched
    RealmConfig.model_validate(merged.model_dump())
    groups = Groups().desired(merged)
    for status in catalog.statuses:
        path = mapping.group_path("status", status.name)
        assert path in groups
        assert groups[path]["realmRoles"] == (["mfa-required"] if status.mfa else [])
    assert "/bridge/scim" in groups and "/bridge/technicians" in groups
    portal = next(c for c in merged.clients if c.clientId == "portal")
    assert {r.name for r in portal.roles} >= set(catalog.permission_by_name)
    names = {m.name for m in portal.protocolMappers}
    assert names >= {"catalog roles", "catalog permissions"}
    # The client-role mapper's union of the groups' roles is gone: roles = permissions.
    assert "portal roles" not in names
    assert not [m for m in portal.protocolMappers
                if m.protocolMapper == "oidc-usermodel-client-role-mapper"]
    assert "roles" not in (portal.defaultClientScopes or ["roles"])  # no resource_access
    assert Clients().desired(merged)


def test_merge_refuses_unknown_clients_and_duplicates(seed: Seed) -> None:
    config = load(REALM_CONFIG, ENV)
    catalog = seed("004")
    elsewhere = catalog.model_copy(update={"permissions": (
        *catalog.permissions[:-1],
        catalog.permissions[-1].model_copy(update={"client": "backoffice"}))})
    with pytest.raises(ConfigError) as caught:
        merge_into(config, elsewhere)
    assert caught.value.problems == [
        "catalog accounting-portal: permissions: client 'backoffice' is not declared in the "
        "realm configuration"]
    with pytest.raises(ConfigError) as caught:
        merge_into(merge_into(config, catalog), catalog)
    assert "catalog accounting-portal: group /bridge/catalog already exists" in \
        caught.value.problems
    without_mfa_role = config.model_copy(update={"roles": []})
    with pytest.raises(ConfigError) as caught:
        merge_into(without_mfa_role, seed("003"))
    assert caught.value.problems == [
        "catalog childcare: realm role 'mfa-required' (MFA) is not declared"]


def test_user_state_round_trips_through_attributes(seed: Seed) -> None:
    catalog = seed("000")
    client = Assignment.of("external", "client", toggles=["no-report-download"],
                           perimeter={"project": ["p1"], "position": ["p1/gate-3"]})
    state = user_state(catalog, client)
    assert set(state.attributes) <= managed_attributes(catalog)
    assert state.attribute_lists()["perimeter.position"] == ["p1/gate-3"]
    assert assignment_from_attributes(catalog, state.attribute_lists()) == client


def test_permission_values() -> None:
    assert permission_values({}) == []
    assert permission_values({None: frozenset({"b", "a"})}) == ["a", "b"]
    assert permission_values({"t1": frozenset({"a", "pay"}), "t2": frozenset({"a"})}) == [
        "a", "pay@t1"]


def _token_size(claims: dict[str, object], roles: tuple[str, ...] = ("technician",)) -> int:
    """Bytes of an RS256 access token carrying ``claims`` and Keycloak's usual ones (the
    portal's client roles twice: ``resource_access`` and the ``roles`` mapper)."""
    standard = {
        "exp": 1767225600, "iat": 1767225300, "auth_time": 1767225290,
        "jti": "onrtac:0c4b8a4e-9d4f-4f7e-8b2a-3c1d2e3f4a5b",
        "iss": "https://login.example.com/realms/access", "aud": "portal",
        "sub": "5f0c7e2a-1b3c-4d5e-8f9a-0b1c2d3e4f5a", "typ": "Bearer", "azp": "portal",
        "sid": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "acr": "1",
        "allowed-origins": ["https://portal.example.com"],
        "resource_access": {"portal": {"roles": list(roles)}}, "roles": list(roles),
        "scope": "openid profile email", "email_verified": True,
        "name": "Camille Dupont-Lambert", "preferred_username": "camille.dupont@example.com",
        "given_name": "Camille", "family_name": "Dupont-Lambert",
        "email": "camille.dupont@example.com",
    }
    header = {"alg": "RS256", "typ": "JWT", "kid": "x" * 43}

    def part(value: object) -> int:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return len(base64.urlsafe_b64encode(raw).rstrip(b"="))

    return part(header) + 1 + part(standard | claims) + 1 + 342


@pytest.mark.parametrize("entries", [10, 1_000, 10_000])
def test_large_perimeters_keep_the_token_under_8_kb(seed: Seed, entries: int) -> None:
    catalog = seed("000")
    positions = [f"project-{i // 50:04d}/position-{i:05d}" for i in range(entries)]
    client = Assignment.of("external", "client", perimeter={"position": positions})
    state = user_state(catalog, client)
    claims = expected_claims(catalog, state)
    assert _token_size(claims) <= 8192
    if entries <= 10:
        assert claims["perimeter"] == {"position": positions}
        assert "perimeter_ref" not in claims
    else:
        assert "perimeter" not in claims
        assert claims["perimeter_ref"].startswith("sha256:")
        assert state.attributes["perimeter_overflow.position"] == tuple(positions)
    assert assignment_from_attributes(catalog, state.attribute_lists()) == client


def test_perimeter_ref_changes_with_the_perimeter(seed: Seed) -> None:
    catalog = seed("000")
    many = [f"p{i}" for i in range(1000)]
    first = user_state(catalog, Assignment.of("external", "client",
                                              perimeter={"project": many}))
    second = user_state(catalog, Assignment.of("external", "client",
                                               perimeter={"project": [*many, "p1000"]}))
    assert first.attributes["perimeter_ref"] != second.attributes["perimeter_ref"]


def test_hierarchical_grant_is_the_compact_one(seed: Seed) -> None:
    """Granting the 20 projects holding 1,000 positions fits inline, where listing the
    positions does not."""
    catalog = seed("000")
    projects = Assignment.of("external", "client",
                             perimeter={"project": [f"project-{i:04d}" for i in range(20)]})
    claims = expected_claims(catalog, user_state(catalog, projects))
    assert len(claims["perimeter"]["project"]) == 20


def test_largest_inline_perimeter_with_every_role_stays_under_8_kb(seed: Seed) -> None:
    """The worst inline case: a perimeter just under the budget, every permission held."""
    catalog = seed("000")
    teams: list[str] = []
    while mapping.perimeter_size({"team": [*teams, f"team-{len(teams):06d}"]}) \
            <= catalog.perimeter_budget:
        teams.append(f"team-{len(teams):06d}")
    admin = Assignment.of("internal", "administrator", perimeter={"team": teams})
    claims = expected_claims(catalog, user_state(catalog, admin))
    assert len(claims["perimeter"]["team"]) == len(teams) > 200
    size = _token_size(claims, roles=tuple(catalog.permission_by_name))
    assert 5000 < size <= 8192


def _dossiers(catalog: Catalog, count: int) -> tuple[Catalog, list[str]]:
    assert catalog.tenancy is not None
    from bridge.catalog.model import Tenant
    tenants = tuple(Tenant(name=f"dossier-client-company-{i:04d}",
                           enables=("payments.use",) if i % 2 else ()) for i in range(count))
    wide = catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"tenants": tenants})})
    return wide, sorted(t.name for t in tenants)


@pytest.mark.parametrize("count", [1, 100, 500])
def test_many_tenants_keep_the_token_under_8_kb(seed: Seed, count: int) -> None:
    catalog, dossiers = _dossiers(seed("004"), count)
    member = Assignment.of("external", "client-user", "full-access", tenants=dossiers)
    state = user_state(catalog, member)
    claims = expected_claims(catalog, state)
    assert _token_size(claims, roles=catalog.profile_by_name["full-access"].grants) <= 8192
    permissions = permission_values(mapping.effective_permissions(catalog, member))
    if count == 1:
        assert claims["tenants"] == dossiers and claims["permissions"] == permissions
        assert "access_ref" not in claims
    else:
        assert "tenants" not in claims and "permissions" not in claims
        assert "roles" not in claims
        assert claims["access_ref"] == mapping.access_digest(dossiers, permissions)
        assert state.attributes["access_overflow.tenants"] == tuple(dossiers)
        assert state.attributes["access_overflow.permissions"] == tuple(permissions)
    assert set(state.attributes) <= managed_attributes(catalog)
    assert assignment_from_attributes(catalog, state.attribute_lists()) == member
    assert mapping.stored_access(state.attribute_lists()) == (dossiers, permissions)


def test_largest_inline_access_stays_under_8_kb(seed: Seed) -> None:
    """The worst inline case: tenants and permissions just under the budget."""
    catalog = seed("004")
    count = 1
    while True:
        wide, dossiers = _dossiers(catalog, count + 1)
        member = Assignment.of("external", "client-user", "administrator", tenants=dossiers)
        if "access_ref" in user_state(wide, member).attributes:
            break
        count += 1
    wide, dossiers = _dossiers(catalog, count)
    member = Assignment.of("external", "client-user", "administrator", tenants=dossiers)
    claims = expected_claims(wide, user_state(wide, member))
    assert "access_ref" not in claims and len(claims["tenants"]) == count > 10
    size = _token_size(claims, roles=catalog.profile_by_name["administrator"].grants)
    assert 4000 < size <= 8192


def test_access_ref_changes_with_a_tenant_or_a_permission(seed: Seed) -> None:
    catalog, dossiers = _dossiers(seed("004"), 200)
    member = Assignment.of("external", "client-user", "full-access", tenants=dossiers)
    first = user_state(catalog, member).attributes["access_ref"]
    fewer = Assignment.of("external", "client-user", "full-access", tenants=dossiers[1:])
    lower = Assignment.of("external", "client-user", "document-delivery", tenants=dossiers)
    assert user_state(catalog, fewer).attributes["access_ref"] != first
    assert user_state(catalog, lower).attributes["access_ref"] != first
