"""The organizations gateway and the tenant store on the real Keycloak: what the design
relies on (alias search, ownership, members, a member's organizations with attributes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bridge import errors as domain
from bridge.keycloak import organizations as kc_orgs
from bridge.keycloak import realm as kc_realm
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.tenants.model import LiveTenant, representation
from bridge.tenants.store import TenantNotFound, TenantStore


@pytest.fixture
def org_realm(admin: AdminGateway) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    kc_realm.create(admin, name, {"organizationsEnabled": True})
    try:
        yield name
    finally:
        kc_realm.delete(admin, name)


def test_tenants_are_organizations_read_fresh(admin: AdminGateway, org_realm: str) -> None:
    store = TenantStore(admin, org_realm, "seed-004", "dossier")
    acme = LiveTenant("dossier-acme", "ACME", ("payments.use",))
    acme_id = kc_orgs.create(admin, org_realm, representation(acme, "seed-004"))
    # An organization of someone else, same alias prefix: never a tenant of ours.
    kc_orgs.create(admin, org_realm, {"name": "Foreign", "alias": "dossier-acme-x",
                                      "attributes": {"bridge.tenant": ["dossier-acme-x"]}})
    with pytest.raises(domain.Duplicate):
        kc_orgs.create(admin, org_realm, representation(acme, "seed-004"))

    found = store.get("dossier-acme")
    assert found == acme and found.id == acme_id
    with pytest.raises(TenantNotFound):
        store.get("dossier-acme-x")
    assert store.find("dossier-zeta") is None
    assert [t.alias for t in store.page()] == ["dossier-acme"]
    assert store.count() == 1

    user_id = kc_users.create(admin, org_realm, {"username": "member.one", "enabled": True})
    kc_orgs.add_member(admin, org_realm, acme_id, user_id)
    assert store.member_ids(found) == [user_id]
    assert store.members_count(found) == 1
    assert store.of_member(user_id) == {"dossier-acme": acme}

    suspended = LiveTenant("dossier-acme", "ACME", ("payments.use",), "suspended")
    kc_orgs.update(admin, org_realm, acme_id,
                   representation(suspended, "seed-004", kc_orgs.get(admin, org_realm,
                                                                     acme_id)))
    assert store.get("dossier-acme").suspended
    kc_orgs.remove_member(admin, org_realm, acme_id, user_id)
    assert store.of_member(user_id) == {}
    kc_orgs.delete(admin, org_realm, acme_id)
    assert store.find("dossier-acme") is None
