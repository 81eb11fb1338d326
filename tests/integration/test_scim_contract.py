"""The backend contract suite (``tests/contract``) on :class:`KeycloakScimBackend`, over a
real Keycloak realm applied from realm-config/.

One realm serves the module (applying one costs seconds); before each case every user and
every managed group of it is deleted, and a new backend (empty caches) is built, so each
case starts from empty storage as the contract suite expects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bridge.keycloak import groups as kc_groups
from bridge.keycloak import realm as kc_realm
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.local.keycloak import free_port
from bridge.local.mailsink import MailSink
from bridge.provisioning import KeycloakScimBackend
from scim.backend import Subject
from tests.conftest import REALM_CONFIG, KeycloakUnderTest, RealmUnderTest, realm_env
from tests.contract.backend_contract import BackendContract, BackendUnderTest

MANAGED_ROOT = "/bridge/scim"


@pytest.fixture(scope="module")
def contract_realm(keycloak: KeycloakUnderTest, admin: AdminGateway,
                   mail_sink: MailSink) -> Iterator[RealmUnderTest]:
    realm = RealmUnderTest(f"t-{uuid.uuid4().hex[:10]}", REALM_CONFIG, realm_env(mail_sink),
                           keycloak, admin)
    realm.apply()
    # realm-config has editUsernameAllowed: false, under which Keycloak refuses even an
    # administrator's rename; SCIM clients rename users (Entra on a UPN change).
    kc_realm.update(admin, realm.name, {"editUsernameAllowed": True})
    try:
        yield realm
    finally:
        kc_realm.delete(admin, realm.name)


def _empty(gateway: AdminGateway, realm: str) -> None:
    """Delete every user but the service accounts, and every managed group."""
    for user in kc_users.search(gateway, realm, first=0, max=1000):
        if not (user.get("username") or "").startswith("service-account-"):
            kc_users.delete(gateway, realm, user["id"])
    root = kc_groups.get_by_path(gateway, realm, MANAGED_ROOT)
    for group in kc_groups.all_children(gateway, realm, root["id"]):
        kc_groups.delete(gateway, realm, group["id"])


def _unreachable() -> KeycloakScimBackend:
    """A backend whose Keycloak listens nowhere (a free loopback port)."""
    gateway = AdminGateway.with_password(f"http://127.0.0.1:{free_port()}", "admin", "unused",
                                         timeout=2)
    return KeycloakScimBackend(gateway, "nowhere", retry_after=7)


class TestKeycloakBackendContract(BackendContract):
    @pytest.fixture
    def contract(self, contract_realm: RealmUnderTest) -> BackendUnderTest:
        gateway = contract_realm.keycloak.admin()
        _empty(gateway, contract_realm.name)
        backend = KeycloakScimBackend(gateway, contract_realm.name)
        return BackendUnderTest(backend, Subject("contract-client"),
                                Subject("tenant-a-client", tenant="tenant-a"),
                                Subject("tenant-b-client", tenant="tenant-b"),
                                unreachable=_unreachable,
                                bounded=lambda max_scan: KeycloakScimBackend(
                                    gateway, contract_realm.name, max_scan=max_scan))

    # -- where the Keycloak backend breaks the contract (reported, owned elsewhere) --------

    @pytest.mark.xfail(strict=True, reason=(
        "a group's meta.version is computed from the Keycloak group's name and attributes "
        "only: a member-only PATCH (PUT/DELETE /users/{uid}/groups/{gid}) leaves the "
        "version, so an If-Match taken before a member change still admits a write after it"))
    def test_group_version_changes_when_its_members_change(
            self, contract: BackendUnderTest) -> None:
        super().test_group_version_changes_when_its_members_change(contract)
