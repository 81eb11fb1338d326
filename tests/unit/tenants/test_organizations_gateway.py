"""The organizations gateway and the tenant store over a stand-in Keycloak: requests sent,
answers read, and Keycloak's failures (5xx, timeouts, 409) as typed errors."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from bridge import errors as domain
from bridge.catalog.model import Assignment, Catalog, Status, Tenancy
from bridge.catalog.rules import RuleViolation, check_assignment
from bridge.keycloak import organizations as kc_orgs
from bridge.keycloak.client import AdminGateway
from bridge.tenants.model import LiveTenant, Responsible, parse, representation
from bridge.tenants.store import TenantNotFound, TenantStore

pytestmark = pytest.mark.unit

KC = "http://kc.test"
TOKEN = f"{KC}/realms/master/protocol/openid-connect/token"
ORGS = f"{KC}/admin/realms/r/organizations"


def _gateway() -> AdminGateway:
    responses.post(TOKEN, json={"access_token": "t", "expires_in": 300,
                                "refresh_token": "r", "token_type": "Bearer"})
    return AdminGateway.with_password(KC, "admin", "pw")


def _org(alias: str, *, caps: list[str] = (), state: str = "active",  # type: ignore[assignment]
         catalog: str = "c", org_id: str = "o1") -> dict[str, object]:
    attributes = {"bridge.tenant": [alias], "bridge.catalog": [catalog],
                  "bridge.state": [state]}
    if caps:
        attributes["bridge.caps"] = list(caps)
    return {"id": org_id, "alias": alias, "name": alias.title(), "enabled": True,
            "attributes": attributes}


CATALOG = Catalog(name="c", statuses=(Status(name="client", user_type="external"),),
                  permissions=(), tenancy=Tenancy(label="dossier"))


@responses.activate
def test_create_sends_the_representation_and_returns_the_id() -> None:
    gw = _gateway()
    responses.post(ORGS, status=201, headers={"Location": f"{ORGS}/abc"})
    rep = representation(LiveTenant("dossier-acme", "ACME", ("payments.use",)), "c")
    assert kc_orgs.create(gw, "r", rep) == "abc"
    sent = json.loads(responses.calls[-1].request.body)
    assert sent["alias"] == "dossier-acme" and sent["name"] == "ACME"
    assert sent["attributes"]["bridge.caps"] == ["payments.use"]
    assert sent["attributes"]["bridge.catalog"] == ["c"]
    assert gw.calls.by_kind == {"POST /{realm}/organizations": 1}


@responses.activate
def test_a_taken_alias_or_name_is_a_duplicate() -> None:
    gw = _gateway()
    responses.post(ORGS, status=409,
                   json={"errorMessage": "A organization with the same name already exists."})
    with pytest.raises(domain.Duplicate):
        kc_orgs.create(gw, "r", {"name": "x", "alias": "x"})


def test_an_attribute_value_over_255_characters_is_refused_before_the_call() -> None:
    # Keycloak answers a bare 500 for it; nothing is sent.
    with pytest.raises(domain.Refused) as caught:
        kc_orgs.check_attributes({"name": "x", "attributes": {"bridge.caps": ["p" * 256]}})
    assert caught.value.field == "bridge.caps"


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503])
def test_keycloak_failures_are_typed(status: int) -> None:
    gw = _gateway()
    responses.get(ORGS, status=status, json={"errorMessage": "boom"})
    with pytest.raises(domain.DirectoryError) as caught:
        TenantStore(gw, "r", "c").find("dossier-acme")
    assert not isinstance(caught.value, domain.NotFound)
    if status != 500:
        assert isinstance(caught.value, domain.Unavailable)


@responses.activate
def test_a_timeout_is_unavailable() -> None:
    gw = _gateway()
    responses.get(ORGS, body=requests.ReadTimeout("slow"))
    with pytest.raises(domain.Unavailable):
        TenantStore(gw, "r", "c").get("dossier-acme")


@responses.activate
def test_find_searches_the_alias_exactly_and_checks_ownership() -> None:
    gw = _gateway()
    responses.get(ORGS, json=[_org("dossier-acme", catalog="other"),
                              _org("dossier-acme", caps=["payments.use"], org_id="o2")])
    found = TenantStore(gw, "r", "c").get("dossier-acme")
    assert found == LiveTenant("dossier-acme", "Dossier-Acme", ("payments.use",))
    assert found.id == "o2"
    query = responses.calls[-1].request.url
    assert "q=bridge.tenant%3Adossier-acme" in query and "briefRepresentation=false" in query


@responses.activate
def test_an_alias_that_cannot_be_a_tenant_costs_no_call() -> None:
    gw = _gateway()
    store = TenantStore(gw, "r", "c", "dossier")
    with pytest.raises(TenantNotFound, match="unknown dossier 'a b:c'"):
        store.get("a b:c")
    assert gw.calls.total == 0


def test_parse_ignores_organizations_that_are_not_ours() -> None:
    assert parse({"alias": "x", "name": "x", "attributes": {}}, "c") is None
    assert parse(_org("x", catalog="other"), "c") is None
    assert parse({**_org("x"), "alias": "y"}, "c") is None
    suspended = parse(_org("x", state="suspended"), "c")
    assert suspended is not None and suspended.suspended


def test_representation_round_trips_and_keeps_foreign_attributes() -> None:
    tenant = LiveTenant("dossier-acme", "ACME", ("a", "b"), "suspended",
                        Responsible("role", "dossier.admin"))
    stored = {"id": "o1", "alias": "dossier-acme", "name": "old", "enabled": True,
              "attributes": {"crm.id": ["42"], "bridge.caps": ["z"]}}
    rep = representation(tenant, "c", stored)
    assert rep["attributes"]["crm.id"] == ["42"]
    assert rep["attributes"]["bridge.caps"] == ["a", "b"]
    assert rep["id"] == "o1" and rep["name"] == "ACME"
    assert parse(rep, "c") == tenant
    assert Responsible.parse("user:alice") == Responsible("user", "alice")
    with pytest.raises(ValueError):
        Responsible.parse("group:x")


@responses.activate
def test_live_catalog_reads_each_name_once_and_leaves_unknown_ones_out() -> None:
    gw = _gateway()

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        alias = request.url.split("bridge.tenant%3A", 1)[1].split("&", 1)[0]
        body = [_org(alias, caps=["payments.use"])] if alias == "dossier-acme" else []
        return 200, {}, json.dumps(body)

    responses.add_callback(responses.GET, ORGS, callback=answer)
    store = TenantStore(gw, "r", "c", "dossier")
    live = store.live_catalog(CATALOG, ["dossier-acme", "dossier-zeta", "dossier-acme"])
    assert gw.calls.total == 2
    assert set(live.tenant_by_name) == {"dossier-acme"}
    assert live.tenant_by_name["dossier-acme"].enables == ("payments.use",)
    with pytest.raises(RuleViolation) as caught:
        check_assignment(live, Assignment.of("external", "client",
                                             tenants=["dossier-acme", "dossier-zeta"]))
    assert caught.value.rule == "unknown.tenant"
    known = store.live_catalog(CATALOG, ["dossier-acme"],
                               known={"dossier-acme": LiveTenant("dossier-acme", "A")})
    assert gw.calls.total == 2 and known.tenant_by_name["dossier-acme"].enables == ()


@responses.activate
def test_members_and_memberships() -> None:
    gw = _gateway()
    responses.post(f"{ORGS}/o1/members", status=201)
    responses.delete(f"{ORGS}/o1/members/u1", status=204)
    responses.get(f"{ORGS}/o1/members", json=[{"id": "u1", "membershipType": "MANAGED"}])
    responses.get(f"{ORGS}/o1/members/count", json=1)
    responses.get(f"{ORGS}/members/u1/organizations",
                  json=[_org("dossier-acme"), _org("foreign", catalog="x", org_id="o9")])
    kc_orgs.add_member(gw, "r", "o1", "u1")
    assert json.loads(responses.calls[-1].request.body) == "u1"
    kc_orgs.remove_member(gw, "r", "o1", "u1")
    store = TenantStore(gw, "r", "c")
    tenant = LiveTenant("dossier-acme", "A", id="o1")
    assert store.member_ids(tenant) == ["u1"]
    assert store.members_count(tenant) == 1
    assert list(store.of_member("u1")) == ["dossier-acme"]
    responses.delete(f"{ORGS}/o1/members/u2", status=404, json={"errorMessage": "no"})
    with pytest.raises(domain.NotFound):
        kc_orgs.remove_member(gw, "r", "o1", "u2")
