"""``/api/v1/tenants`` over in-memory tenants: routes, shapes, and the catalog's
``tenancy.managers`` delegation (seed 004: the firm's staff manage every dossier, a dossier's
Administrator renames its own and may not change caps)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask

from bridge.api import create_api_blueprint
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment, Catalog
from bridge.invitations import AccessAdministration
from bridge.tenants.errors import TenantExists, TenantRefused, TenantUnknown
from bridge.tenants.model import SUSPENDED, LiveTenant
from bridge.tenants.service import Recomputed, TenantChange, TenantDetails, TenantPage
from tests.unit.invitations_memory import MemoryDirectory
from tests.unit.test_invitations_api import CATALOG, _auth


class MemoryTenants:
    """TenantService's contract, in memory; records who did what."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.tenants: dict[str, LiveTenant] = {}
        self.calls: list[tuple[str, str, str]] = []

    def get(self, alias: str) -> LiveTenant:
        if alias not in self.tenants:
            raise TenantUnknown(f"unknown dossier {alias!r}")
        return self.tenants[alias]

    def show(self, alias: str) -> TenantDetails:
        t = self.get(alias)
        return TenantDetails(t, 0, ("documents.import",), () if t.suspended else t.caps)

    def list(self, first: int = 0, max: int = 100) -> TenantPage:
        items = [self.tenants[a] for a in sorted(self.tenants)]
        return TenantPage(tuple(items[first:first + max]), len(items), first, max)

    def add(self, actor: str, alias: str, label: str | None = None,
            caps: Iterable[str] = (), responsible: str | None = None) -> LiveTenant:
        if alias in self.tenants:
            raise TenantExists(f"dossier {alias!r} already exists")
        self.calls.append(("add", actor, alias))
        self.tenants[alias] = LiveTenant(alias, label or alias).with_caps(caps)
        return self.tenants[alias]

    def _change(self, op: str, actor: str, alias: str, new: LiveTenant) -> TenantChange:
        before = self.get(alias)
        self.calls.append((op, actor, alias))
        self.tenants[alias] = new
        return TenantChange(new, new != before, Recomputed(2, 2 if new.caps != before.caps
                                                             else 0))

    def set(self, actor: str, alias: str, *, label: str | None = None,
            caps: Iterable[str] | None = None) -> TenantChange:
        t = self.get(alias)
        if caps is not None:
            assert self.catalog.tenancy is not None
            outside = set(caps) - self.catalog.tenancy.enableable
            if outside:
                raise TenantRefused(f"tenant.caps: {sorted(outside)}", code="tenant.caps",
                                    rule="tenant.caps")
            t = t.with_caps(caps)
        if label is not None:
            t = replace(t, label=label)
        return self._change("set-caps" if caps is not None else "rename", actor, alias, t)

    def suspend(self, actor: str, alias: str) -> TenantChange:
        return self._change("suspend", actor, alias, replace(self.get(alias), state=SUSPENDED))

    def resume(self, actor: str, alias: str) -> TenantChange:
        return self._change("resume", actor, alias, replace(self.get(alias), state="active"))

    def delete(self, actor: str, alias: str, *, remove_members: bool = False) -> TenantChange:
        t = self.get(alias)
        self.calls.append(("delete", actor, alias))
        del self.tenants[alias]
        return TenantChange(t, True)


class Api:
    def __init__(self) -> None:
        self.directory = MemoryDirectory()
        self.tenants = MemoryTenants(CATALOG)
        for alias, label in (("dossier-acme", "ACME SPRL"), ("dossier-bakery", "Dupont")):
            self.tenants.tenants[alias] = LiveTenant(alias, label)
        app = Flask(__name__)
        app.register_blueprint(create_api_blueprint(
            AccessAdministration(self.directory, CATALOG), _auth, tenants=self.tenants))
        self.http = app.test_client()

    def person(self, name: str, a: Assignment) -> str:
        state = user_state(CATALOG, a)
        return self.directory.add(name, f"{name}@example.com", state.attribute_lists(),
                                  set(state.groups))

    def staff(self) -> str:
        return self.person("sam", Assignment.of("internal", "firm-staff"))

    def administrator(self, tenant: str = "dossier-acme") -> str:
        return self.person("anna", Assignment.of("external", "client-user", "administrator",
                                                 tenants=[tenant]))

    def call(self, method: str, path: str, actor: str, body: Any = None) -> Any:
        return self.http.open(f"/api/v1{path}", method=method, json=body,
                              headers={"Authorization": f"Bearer {actor}"})


@pytest.fixture
def api() -> Api:
    return Api()


def test_firm_staff_manage_every_dossier(api: Api) -> None:
    staff = api.staff()
    created = api.call("POST", "/tenants", staff, {"alias": "dossier-new", "label": "New SA",
                                                   "caps": ["payments.use"]})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == "/api/v1/tenants/dossier-new"
    assert created.get_json() == {"alias": "dossier-new", "label": "New SA",
                                  "caps": ["payments.use"], "state": "active",
                                  "responsible": None}
    shown = api.call("GET", "/tenants/dossier-new", staff).get_json()
    assert shown["members"] == 0 and shown["enabled"] == ["payments.use"]
    renamed = api.call("PATCH", "/tenants/dossier-new", staff, {"label": "New SPRL"})
    assert renamed.get_json()["label"] == "New SPRL"
    caps = api.call("PUT", "/tenants/dossier-new/caps", staff,
                    {"caps": ["payments.use", "financial.view"]})
    assert caps.status_code == 200
    assert caps.get_json()["caps"] == ["financial.view", "payments.use"]
    assert caps.get_json()["changed"] is True
    assert caps.get_json()["members_written"] == 2
    assert api.call("POST", "/tenants/dossier-new/suspend", staff).get_json()["state"] \
        == "suspended"
    assert api.call("POST", "/tenants/dossier-new/resume", staff).get_json()["state"] \
        == "active"
    page = api.call("GET", "/tenants?max=2", staff).get_json()
    assert [t["alias"] for t in page["items"]] == ["dossier-acme", "dossier-bakery"]
    assert page["next"] == 2 and page["total"] == 3
    last = api.call("GET", "/tenants?first=2&max=2", staff).get_json()
    assert [t["alias"] for t in last["items"]] == ["dossier-new"] and last["next"] is None
    assert api.call("DELETE", "/tenants/dossier-new", staff).status_code == 204
    assert api.call("GET", "/tenants/dossier-new", staff).status_code == 404
    assert [c[0] for c in api.tenants.calls] == ["add", "rename", "set-caps", "suspend",
                                                 "resume", "delete"]
    assert {c[1] for c in api.tenants.calls} == {"user:sam"}


def test_a_dossier_administrator_may_not_change_caps(api: Api) -> None:
    admin = api.administrator()
    refused = api.call("PUT", "/tenants/dossier-acme/caps", admin, {"caps": ["payments.use"]})
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["error"] == "delegation.tenant-manager"
    assert "dossier-administrators-rename" in body["detail"]
    assert "set-caps" in body["detail"]
    for method, path in (("POST", "/tenants/dossier-acme/suspend"),
                         ("DELETE", "/tenants/dossier-acme")):
        assert api.call(method, path, admin).get_json()["error"] == \
            "delegation.tenant-manager"
    assert api.call("POST", "/tenants", admin, {"alias": "dossier-x", "label": "X"}
                    ).status_code == 403
    assert api.tenants.calls == []


def test_a_dossier_administrator_renames_and_reads_only_its_own(api: Api) -> None:
    admin = api.administrator()
    renamed = api.call("PATCH", "/tenants/dossier-acme", admin, {"label": "ACME SA"})
    assert renamed.status_code == 200 and renamed.get_json()["label"] == "ACME SA"
    other = api.call("PATCH", "/tenants/dossier-bakery", admin, {"label": "Mine now"})
    assert other.status_code == 403
    assert other.get_json()["error"] == "delegation.tenant"
    assert "dossier-administrators-rename" in other.get_json()["detail"]
    listed = api.call("GET", "/tenants", admin).get_json()
    assert [t["alias"] for t in listed["items"]] == ["dossier-acme"]
    assert api.call("GET", "/tenants/dossier-acme", admin).status_code == 200
    assert api.call("GET", "/tenants/dossier-bakery", admin).status_code == 404


def test_an_actor_no_manager_rule_names_is_refused_everything(api: Api) -> None:
    user = api.person("dora", Assignment.of("external", "client-user", "document-processing",
                                            tenants=["dossier-acme"]))
    for method, path in (("GET", "/tenants"), ("GET", "/tenants/dossier-acme"),
                         ("PATCH", "/tenants/dossier-acme")):
        response = api.call(method, path, user, {"label": "x"} if method == "PATCH" else None)
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"] == "delegation.tenant-manager"
        assert "no tenancy.managers rule" in response.get_json()["detail"]


def test_bad_bodies_and_rules_of_the_use_cases(api: Api) -> None:
    staff = api.staff()
    assert api.call("POST", "/tenants", staff, {"alias": "Bad Alias", "label": "x"}
                    ).get_json()["error"] == "invalid-request"
    assert api.call("POST", "/tenants", staff, {"alias": "ok", "label": " "}
                    ).status_code == 400
    assert api.call("PUT", "/tenants/dossier-acme/caps", staff, {"caps": "payments.use"}
                    ).status_code == 400
    outside = api.call("PUT", "/tenants/dossier-acme/caps", staff, {"caps": ["users.manage"]})
    assert outside.status_code == 400 and outside.get_json()["error"] == "tenant.caps"
    duplicate = api.call("POST", "/tenants", staff, {"alias": "dossier-acme", "label": "x"})
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"] == "tenant.exists"
    assert api.call("GET", "/tenants?max=1000", staff).status_code == 400
    missing = api.call("POST", "/tenants/nope/suspend", staff)
    assert missing.status_code == 404 and missing.get_json()["error"] == "tenant.unknown"


def test_the_document_describes_the_tenant_routes(api: Api) -> None:
    document = api.http.get("/api/v1/openapi.json").get_json()
    assert {"/tenants", "/tenants/{alias}", "/tenants/{alias}/caps",
            "/tenants/{alias}/suspend", "/tenants/{alias}/resume"} <= set(document["paths"])
    caps = document["paths"]["/tenants/{alias}/caps"]["put"]
    assert caps["operationId"] == "setTenantCaps"
    assert "delegation.tenant-manager" in caps["responses"]["403"]["description"]
    assert document["components"]["schemas"]["TenantOut"]["properties"]["state"]
