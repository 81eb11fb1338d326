"""Gateway errors: what went wrong talking to Keycloak, without Keycloak's status codes."""

from __future__ import annotations


class GatewayError(Exception):
    """A Keycloak admin call failed. ``detail`` is Keycloak's own message, never a secret."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class NotFound(GatewayError):
    """The resource does not exist (404)."""


class Conflict(GatewayError):
    """Keycloak refused a duplicate (409)."""


class Unavailable(GatewayError):
    """Keycloak cannot be reached or is not ready; the caller may retry later."""
