"""Settings of the SCIM layer: the limits it enforces and advertises.

The app builds one from its own configuration (``BRIDGE_SCIM_*`` keys) and hands
it to :func:`scim.blueprint.create_scim_blueprint`; this module reads no
environment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScimSettings:
    default_count: int = 100
    """Page size of a list request without ``count`` (RFC 7644 §3.4.2.4)."""

    max_count: int = 1000
    """Largest page served; advertised as ``filter.maxResults``. A larger ``count``
    gets a page of this size and the true ``totalResults``."""

    bulk_max_operations: int = 1000
    """Advertised ``bulk.maxOperations``; more gives 413 ``tooMany``."""

    bulk_max_payload_size: int = 1_048_576
    """Advertised ``bulk.maxPayloadSize`` in bytes; more gives 413."""

    group_patch_returns_members: bool = True
    """Whether a Group PATCH answers with ``members`` when the client asked for no
    ``attributes``/``excludedAttributes``. Turning it off keeps member PATCHes on
    very large groups from loading every member just to echo them."""

    documentation_uri: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.default_count <= self.max_count:
            raise ValueError("default_count must be between 1 and max_count")
        if self.bulk_max_operations < 1 or self.bulk_max_payload_size < 1:
            raise ValueError("bulk limits must be positive")
