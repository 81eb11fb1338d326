"""The backend contract suite (``tests/contract``) on the memory backend, the reference."""

from __future__ import annotations

import pytest

from scim.backend import Subject
from scim.memory import MemoryBackend
from tests.contract.backend_contract import BackendContract, BackendUnderTest


def _unreachable() -> MemoryBackend:
    backend = MemoryBackend()
    backend.unavailable = True
    return backend


class TestMemoryBackendContract(BackendContract):
    @pytest.fixture
    def contract(self) -> BackendUnderTest:
        return BackendUnderTest(MemoryBackend(), Subject("contract-client"),
                                Subject("tenant-a-client", tenant="tenant-a"),
                                Subject("tenant-b-client", tenant="tenant-b"),
                                unreachable=_unreachable)
