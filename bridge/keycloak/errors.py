"""Gateway errors: what went wrong talking to Keycloak, without Keycloak's status codes.

This is the one place where Keycloak's answer becomes the domain's error: each class is a
:mod:`bridge.errors` class (``NotFound`` is a :class:`bridge.errors.NotFound`...) that
knows Keycloak's message keys and says them in the bridge's words (``words``). Only
:mod:`bridge.keycloak` imports this module (an import-linter contract); everyone else
catches :mod:`bridge.errors`.
"""

from __future__ import annotations

from typing import Any

from bridge import errors as domain


class GatewayError(domain.DirectoryError):
    """A Keycloak admin call failed. ``detail`` is Keycloak's own message, never a secret.

    ``GatewayError(..., status=400)`` is a :class:`Rejected` and ``status=413`` a
    :class:`TooLarge`: the status decides the domain's class wherever the error is made
    (the client's status check, a test's stand-in directory)."""

    def __new__(cls, *args: Any, status: int | None = None, **kwargs: Any) -> GatewayError:
        if cls is GatewayError and status in _BY_STATUS:
            cls = _BY_STATUS[status]
        return super().__new__(cls)

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class NotFound(GatewayError, domain.NotFound):
    """The resource does not exist (404)."""


class MissingGroups(GatewayError, domain.MissingGroups):
    """A user was to join groups the realm does not have (``paths``): Keycloak answers a
    create naming one with a bare 500 (the cause only in its own log). Not a NotFound: the
    resource asked for exists or is being made; the realm lacks its configuration."""

    def __init__(self, realm: str, paths: list[str]) -> None:
        super().__init__(f"realm {realm!r} has no group {', '.join(paths)}",
                         detail=", ".join(paths))
        self.realm = realm
        self.paths = tuple(paths)


class OrganizationsDisabled(GatewayError, domain.OrganizationsDisabled):
    """Keycloak's 404 "Organizations not enabled for this realm" on any organization call."""

    def __init__(self, realm: str) -> None:
        super().__init__(f"realm {realm!r} has organizations disabled",
                         detail="organizations disabled")
        self.realm = realm
        self.paths = ()


class Conflict(GatewayError, domain.Duplicate):
    """Keycloak refused a duplicate (409)."""

    @property
    def words(self) -> str:
        return describe_duplicate(self)


class Unavailable(GatewayError, domain.Unavailable):
    """Keycloak cannot be reached or is not ready; the caller may retry later."""


class Rejected(GatewayError, domain.Refused):
    """Keycloak refused a value of the request (400): its text stays in ``detail``."""

    @property
    def read_only(self) -> bool:
        return "read-only" in self.detail

    @property
    def words(self) -> str:
        return describe_refusal(self)


class TooLarge(GatewayError, domain.TooLarge):
    """Keycloak refused a body larger than it stores (413)."""


class Refused(GatewayError, domain.Refused):
    """A value Keycloak would refuse (or fail on), found before the call was made.

    ``field`` is Keycloak's name for it (``username``, ``email``, ``name``, an attribute's
    name), ``reason`` a phrase in the bridge's words (``is longer than 255 characters``).
    Nothing was written."""

    def __init__(self, message: str, *, field: str, reason: str) -> None:
        super().__init__(message, status=400, detail=f"{field} {reason}")
        self.field = field
        self.reason = reason


_BY_STATUS: dict[int, type[GatewayError]] = {400: Rejected, 413: TooLarge}


# Keycloak's message keys (its user-profile validators and admin endpoints) in the bridge's
# words: a client reads these, never Keycloak's own text. The first key found wins.
_REFUSALS = (
    ("error-username-invalid-character", "The userName holds a character the directory does "
     "not accept"),
    ("error-person-name-invalid-character", "A name holds a character the directory does "
     "not accept"),
    ("error-non-ascii-local-part-email", "An e-mail address has a non-ASCII local part, "
     "which the directory's mail server cannot address"),
    ("error-invalid-email", "An e-mail address is not valid"),
    ("error-invalid-length", "A value is too long or too short for the directory"),
    ("error-user-attribute-read-only", "An attribute is read-only in the directory"),
    ("read-only", "An attribute is read-only in the directory"),
    ("group name is missing", "A group name is required"),
)
_DUPLICATES = (
    ("username or email", "The userName or e-mail address is already used by another user"),
    ("same username", "The userName is already taken"),
    ("same email", "The e-mail address is already used by another user"),
    ("group named", "The group name is already taken"),
)


def describe_refusal(error: GatewayError) -> str:
    """A Keycloak 400 (or a :class:`Refused` pre-check) in the bridge's words."""
    if isinstance(error, Refused):
        return f"{error.field} {error.reason}"
    text = error.detail.casefold()
    for key, words in _REFUSALS:
        if key in text:
            return words
    return "The directory does not accept a value of the request"


def describe_duplicate(error: GatewayError) -> str:
    """A Keycloak 409 in the bridge's words."""
    text = error.detail.casefold()
    for key, words in _DUPLICATES:
        if key in text:
            return words
    return "A value is already in use"
