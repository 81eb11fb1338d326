"""What a tenant operation refuses, in the domain's words. ``status`` and ``code`` are what
the API answers and the audit event records; the CLI exits 1 on any of them (3 when nothing
changed is not an error: see :class:`bridge.tenants.service.TenantChange`)."""

from __future__ import annotations


class TenantError(Exception):
    """A tenant operation refused (nothing written)."""

    status = 400
    code = "tenant.invalid"

    def __init__(self, detail: str, *, code: str | None = None,
                 rule: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.rule = rule


class TenantRefused(TenantError):
    """A value the catalog refuses (rule ``tenant.caps``: a cap outside ``may_enable``;
    ``tenant.alias``: not an identifier)."""


class TenantUnknown(TenantError):
    status = 404
    code = "tenant.unknown"


class TenantExists(TenantError):
    status = 409
    code = "tenant.exists"


class TenantHasMembers(TenantError):
    """A delete of a tenant that still has members, without ``remove_members``."""

    status = 409
    code = "tenant.has-members"
