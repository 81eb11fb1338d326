"""The directory's errors, in the domain's words: what went wrong storing or reading
accounts and groups, whichever directory holds them.

The gateway (:mod:`bridge.keycloak.errors`) raises subclasses of these, built once where
Keycloak's answer is read (its status code and message keys become a class and the
bridge's words), so that the SCIM backend, the API, the CLI, reconcile and the realm
config catch these and never a Keycloak error. Each protocol maps them to its own answer:

============  ===============================  ===========================  ==============
error         SCIM                             API                          CLI
============  ===============================  ===========================  ==============
Unavailable   503 + Retry-After                503 ``keycloak-unavailable``  message, exit 1
NotFound      404                              404 ``not-found``            message, exit 1
Duplicate     409 ``uniqueness``               409 ``conflict``             message, exit 1
Refused       400 ``invalidValue``             400 ``invalid-value``        message, exit 1
TooLarge      413                              413 ``payload-too-large``    message, exit 1
other         503 + Retry-After                503 ``keycloak-error``       message, exit 1
============  ===============================  ===========================  ==============

``str(error)`` is for the log (it may quote the directory's own text, never a secret);
:attr:`words` is what a client may read.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """The directory did not do what was asked (any failure without a class of its own).

    ``detail`` is the directory's own text: for the log, never for a client."""

    detail: str = ""
    words: str = "The directory failed"
    """The failure in the bridge's words, for a client."""


class Unavailable(DirectoryError):
    """The directory cannot be reached or is not ready; the caller may retry later."""

    words: str = "The directory is unreachable, retry later"


class NotFound(DirectoryError):
    """The account, group or other resource does not exist."""

    words: str = "Resource not found"


class Duplicate(DirectoryError):
    """A value that must be unique (a username, an e-mail, a group name) is taken."""

    words: str = "A value is already in use"


class Refused(DirectoryError):
    """The directory refuses a value of the request (nothing was written).

    ``field`` and ``reason`` are set when the refusal was found before the call (the
    directory's name for the value, and a phrase such as ``is longer than 255
    characters``); ``read_only`` says that the value may not change in this directory."""

    field: str | None = None
    reason: str | None = None
    read_only: bool = False

    @property
    def words(self) -> str:
        if self.field is not None and self.reason is not None:
            return f"{self.field} {self.reason}"
        return "The directory does not accept a value of the request"


class MissingGroups(DirectoryError):
    """Accounts were to join groups the realm does not have (``paths``): the realm lacks
    the configuration (e.g. the catalog was not applied), not the resource asked for."""

    realm: str = ""
    paths: tuple[str, ...] = ()


class OrganizationsDisabled(MissingGroups):
    """The realm has Keycloak's organizations turned off, so it holds no tenant: the
    catalog's tenancy was never applied to it (``bridge realm apply`` turns them on)."""

    words: str = "The realm holds no tenants: apply the access catalog to it"


class TooLarge(DirectoryError):
    """The resource is larger than the directory stores."""

    words: str = "The resource is larger than the directory stores"
