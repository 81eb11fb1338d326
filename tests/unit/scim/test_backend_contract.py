"""The backend contract suite (``tests/contract``) on the memory backend, the reference."""

from __future__ import annotations

import copy

import pytest

from bridge.provisioning.access_schema import ACCESS_RESOURCES
from bridge.provisioning.access_schema import ACCESS_SCHEMA as ACCESS
from bridge.provisioning.tenancy import AccessTenancy
from scim.backend import UNSCOPED, Subject
from scim.memory import MemoryBackend
from scim.resources import Kind
from tests.contract.backend_contract import BackendContract, BackendUnderTest, raises_scim


def _unreachable() -> MemoryBackend:
    backend = MemoryBackend()
    backend.unavailable = True
    return backend


class TestMemoryBackendContract(BackendContract):
    @pytest.fixture
    def contract(self) -> BackendUnderTest:
        # The bridge registers its extension and its tenancy rule, as in production.
        backend = MemoryBackend(tenancy=AccessTenancy(), resources=ACCESS_RESOURCES)

        def bounded(max_scan: int) -> MemoryBackend:
            # the same storage, another bound
            view = copy.copy(backend)
            view.max_scan = max_scan
            return view

        return BackendUnderTest(backend, Subject("contract-client"),
                                Subject("tenant-a-client", tenant="tenant-a"),
                                Subject("tenant-b-client", tenant="tenant-b"),
                                unreachable=_unreachable, bounded=bounded)


def test_without_a_tenancy_rule_a_tenant_bound_subject_sees_and_writes_no_user() -> None:
    """Closed, not open: a memory backend given no TenantScope shows a tenant-bound
    subject nothing of the users and lets it create none."""
    backend = MemoryBackend(resources=ACCESS_RESOURCES)
    assert backend.tenancy is UNSCOPED
    contract = BackendUnderTest(backend, Subject("unbound"), Subject("a", tenant="tenant-a"),
                                Subject("b", tenant="tenant-b"), unreachable=_unreachable,
                                bounded=lambda _: backend)
    user = contract.create_user("someone", **{ACCESS: {"tenants": ["tenant-a"]}})
    assert contract.get(Kind.USER, user.id, subject=contract.tenant_a) is None
    assert contract.query(Kind.USER, subject=contract.tenant_a).total_results == 0
    with raises_scim(403):
        contract.create_user("newcomer", subject=contract.tenant_a)
    assert contract.query(Kind.USER).total_results == 1
