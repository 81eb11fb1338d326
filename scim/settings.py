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

    max_payload_size: int = 1_048_576
    """Largest request body of any route but ``/Bulk``, in bytes; more gives 413.
    Advertised in the limits extension of ``/ServiceProviderConfig``."""

    max_json_depth: int = 32
    """Deepest nesting of arrays and objects in a body (a BulkRequest holding a PATCH
    of an e-mail is 8 deep); deeper gives 400 ``invalidSyntax``. Advertised."""

    bulk_time_budget: float = 25.0
    """Seconds a ``/Bulk`` request may run operations: no operation starts after it
    (those not run answer 429, to be sent again). Under the 30 s that proxies and
    gunicorn commonly allow a request. Advertised."""

    max_scan: int | None = None
    """The most resources a backend examines for a filter it cannot push down (it
    answers 400 ``tooMany`` beyond). The backend enforces it; the SCIM layer only
    advertises it, so the app gives both the same value."""

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
        if self.max_payload_size < 1 or self.max_json_depth < 1 or self.bulk_time_budget <= 0:
            raise ValueError("payload, depth and time limits must be positive")
        if self.max_scan is not None and self.max_scan < 1:
            raise ValueError("max_scan must be positive (or None: unbounded)")

    @property
    def max_body_size(self) -> int:
        """The most bytes of a body worth reading on any route (the larger limit)."""
        return max(self.max_payload_size, self.bulk_max_payload_size)
