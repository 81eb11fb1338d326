"""What the tenant service refuses before any Keycloak call (nothing written)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.catalog.model import Catalog
from bridge.keycloak.client import AdminGateway
from bridge.tenants.errors import TenantRefused
from bridge.tenants.service import TenantService

pytestmark = pytest.mark.unit

Seed = Callable[[str], Catalog]


def _service(catalog: Catalog) -> tuple[TenantService, AdminGateway]:
    gw = AdminGateway(lambda: (_ for _ in ()).throw(AssertionError("no call expected")))
    return TenantService(gw, "r", catalog), gw


def test_a_cap_outside_may_enable_is_refused_with_the_rule(seed: Seed) -> None:
    catalog = seed("004")
    assert catalog.tenancy is not None
    narrow = catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"may_enable": ("payments.use",)})})
    service, gw = _service(narrow)
    with pytest.raises(TenantRefused) as caught:
        service.add("operator:test", "dossier-x", "X", caps=["financial.view"])
    assert caught.value.rule == "tenant.caps" and caught.value.code == "tenant.caps"
    assert "may not enable 'financial.view' (tenancy.may_enable: payments.use)" in \
        caught.value.detail
    assert gw.calls.total == 0


def test_an_alias_that_is_not_an_identifier_is_refused(seed: Seed) -> None:
    service, gw = _service(seed("004"))
    for alias in ("Dossier X", "dossier:x", "", "-x"):
        with pytest.raises(TenantRefused) as caught:
            service.add("operator:test", alias)
        assert caught.value.rule == "tenant.alias"
    assert gw.calls.total == 0


def test_baseline_caps_are_not_stored_and_a_catalog_without_tenancy_has_no_service(
        seed: Seed) -> None:
    service, _gw = _service(seed("004"))
    assert service._checked_caps(["payments.use", "figures.view"]) == ("payments.use",)
    with pytest.raises(ValueError):
        _service(seed("000"))


def test_the_loader_refuses_a_seed_tenant_enabling_outside_may_enable() -> None:
    from bridge.catalog.load import parse
    from bridge.configfiles import ConfigError

    document = {"catalog": {
        "name": "c", "permissions": [{"name": "a"}, {"name": "b"}],
        "statuses": [{"name": "s", "user_type": "external"}],
        "tenancy": {"may_enable": ["a"], "tenants": [{"name": "t", "enables": ["b"]}]}}}
    with pytest.raises(ConfigError) as caught:
        parse(document, "c.yaml", {})
    assert caught.value.problems == [
        "c.yaml: catalog.tenancy.tenants[0].enables[0]: 'b' is not in tenancy.may_enable"]
