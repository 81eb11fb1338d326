"""The managed-group cache of a replica stays bounded (issue 10: memory bounded for the life
of a replica), and ``BRIDGE_GROUP_CACHE_TTL=0`` turns it off."""

from __future__ import annotations


def test_the_group_cache_is_bounded() -> None:
    from bridge.provisioning import backend as module

    scim = module.KeycloakScimBackend(None, "r")  # type: ignore[arg-type]
    for i in range(module.GROUP_CACHE_SIZE + 500):
        scim._remember({"id": f"g-{i}", "name": f"G{i}"})
    assert len(scim._groups) == module.GROUP_CACHE_SIZE
    assert scim._cached("g-0") is None  # the least recently read went first
    assert scim._cached(f"g-{module.GROUP_CACHE_SIZE + 499}") is not None
    off = module.KeycloakScimBackend(None, "r", group_cache_ttl=0)  # type: ignore[arg-type]
    off._remember({"id": "g", "name": "G"})
    assert len(off._groups) == 0
