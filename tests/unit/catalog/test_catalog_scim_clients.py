"""What SCIM clients may assign (``scim_clients`` rules): the loader and the rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.catalog.load import parse
from bridge.catalog.model import Assignment, Catalog
from bridge.catalog.rules import RuleViolation, check_scim_client
from bridge.realm.desired import ConfigError

Seed = Callable[[str], Catalog]


def _catalog(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"catalog": {
        "name": "t", "permissions": [{"name": "a.read"}],
        "statuses": [{"name": "client", "user_type": "external", "profiles": ["viewer"]},
                     {"name": "staff", "user_type": "internal", "unrestricted_perimeter": True}],
        "profiles": [{"name": "viewer", "rank": 1, "grants": ["a.read"]}],
        "dimensions": [{"name": "project"}],
        "tenancy": {"tenants": [{"name": "t1"}, {"name": "t2"}]},
        "scim_clients": list(rules)}}


def _problems(document: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(document, "cat.yaml", {})
    return caught.value.problems


def _rule(**fields: Any) -> dict[str, Any]:
    return {"name": "r", "client": {}, "may_assign": {"statuses": ["client"]}, **fields}


def test_a_rule_for_bound_clients_may_not_give_internal_or_unrestricted_statuses() -> None:
    problems = _problems(_catalog(_rule(may_assign={"statuses": ["staff"]})))
    assert problems == ["cat.yaml: catalog.scim_clients[0].may_assign.statuses[0]: status "
                        "'staff' is internal or unrestricted: a tenant-bound client may never "
                        "assign it"]
    problems = _problems(_catalog(_rule(client={"bound": True}, may_assign={"statuses": ["*"]})))
    assert "'*' may not be given to tenant-bound clients" in problems[0]
    problems = _problems(_catalog(_rule(client={"bound": True},
                                        may_assign={"statuses": ["client"], "tenants": ["t1"]})))
    assert "assigns its own tenant only" in problems[0]
    # For unbound clients only, all of these are fine.
    parse(_catalog(_rule(client={"bound": False},
                         may_assign={"statuses": ["*"], "tenants": ["t1"]})), "cat.yaml", {})


def test_a_rule_names_what_exists() -> None:
    problems = _problems(_catalog(_rule(client={"bound": False}, may_assign={
        "statuses": ["nobody"], "profiles": ["x"], "dimensions": ["site"], "tenants": ["t9"]})))
    assert problems == [
        "cat.yaml: catalog.scim_clients[0].may_assign.statuses[0]: unknown status 'nobody'",
        "cat.yaml: catalog.scim_clients[0].may_assign.profiles[0]: unknown profile 'x'",
        "cat.yaml: catalog.scim_clients[0].may_assign.dimensions[0]: unknown dimension 'site'",
        "cat.yaml: catalog.scim_clients[0].may_assign.tenants[0]: unknown tenant 't9'"]


def _refused(catalog: Catalog, client: str, tenant: str | None, target: Assignment | None,
             current: Assignment | None = None) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_scim_client(catalog, client, tenant, target, current)
    return caught.value.rule


def test_seed_004_bound_and_unbound_clients(seed: Seed) -> None:
    c = seed("004")
    staff = Assignment.of("internal", "firm-staff", tenants=["dossier-acme"])
    admin = Assignment.of("external", "client-user", "administrator", tenants=["dossier-acme"])
    assert _refused(c, "acme-idp", "dossier-acme", staff) == "scim-client.tenant-bound"
    assert check_scim_client(c, "acme-idp", "dossier-acme", admin).name == "dossier-idp"
    other = Assignment.of("external", "client-user", tenants=["dossier-bakery"])
    assert _refused(c, "acme-idp", "dossier-acme", other) == "scim-client.tenant"
    # A change is checked against the user as it is: firm staff stays out of reach.
    assert _refused(c, "acme-idp", "dossier-acme", admin, staff) == "scim-client.tenant-bound"
    assert check_scim_client(c, "hr", None, staff).name == "firm-directory"


def test_no_scim_clients_section_unbound_all_bound_nothing(seed: Seed) -> None:
    c = seed("004").model_copy(update={"scim_clients": None})
    staff = Assignment.of("internal", "firm-staff")
    client = Assignment.of("external", "client-user", tenants=["dossier-acme"])
    assert check_scim_client(c, "hr", None, staff) is None
    assert _refused(c, "acme-idp", "dossier-acme", client) == "scim-client.not-allowed"
    # The hard limits hold even without a section.
    assert _refused(c, "acme-idp", "dossier-acme", staff) == "scim-client.tenant-bound"


def test_clients_dimensions_and_tenants_of_a_rule() -> None:
    c = parse(_catalog(
        {"name": "hr", "client": {"clients": ["hr"], "bound": False},
         "may_assign": {"statuses": ["client"], "tenants": ["t1"], "dimensions": []}},
        {"name": "idp", "client": {"bound": True}, "may_assign": {"statuses": ["client"]}}),
        "cat.yaml", {})
    plain = Assignment.of("external", "client", tenants=["t1"])
    assert check_scim_client(c, "hr", None, plain).name == "hr"
    assert _refused(c, "other", None, plain) == "scim-client.not-allowed"
    assert _refused(c, "hr", None, Assignment.of("external", "client", tenants=["t2"])) \
        == "scim-client.tenant"
    assert _refused(c, "hr", None, Assignment.of("external", "client", tenants=["t1"],
                                                 perimeter={"project": ["p1"]})) \
        == "scim-client.perimeter"
    assert _refused(c, "hr", None, Assignment.of("internal", "staff")) \
        == "scim-client.not-allowed"
    assert check_scim_client(c, "any-idp", "t2", Assignment.of(
        "external", "client", tenants=["t2"])).name == "idp"
