"""Tenants as data: each tenant of a catalog is a Keycloak Organization (issue 14).

``model.py`` is a tenant as the bridge reads and writes it (:class:`LiveTenant`, and the
organization representation it becomes); ``store.py`` the read side (:class:`TenantStore`,
and ``live_catalog``, through which every write path sees the tenants' current caps);
``service.py`` the writes (add, rename, caps, suspend, resume, delete), each followed by the
recompute of the tenant's members only.
"""
