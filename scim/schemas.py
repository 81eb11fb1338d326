"""Discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes, /Schemas.

The configuration tells the truth about what ``scim.handlers`` implements.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Meta,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from .resources import ServedResources
from .settings import ScimSettings

LIMITS_SCHEMA = "urn:bridge:scim:schemas:extension:limits:2.0:ServiceProviderConfig"
"""Every limit the server enforces, at ``/ServiceProviderConfig/limits``: those RFC 7643 §5
has an attribute for (``bulk``, ``filter.maxResults``) are also in the configuration itself;
the others (body size, JSON depth, Bulk time budget, scan bound) have none, and an extra
attribute in ``/ServiceProviderConfig`` makes strict clients (scim2-client) refuse it."""


def _join(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


def service_provider_config(settings: ScimSettings, base_url: str) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=settings.documentation_uri,
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True,
            max_operations=settings.bulk_max_operations,
            max_payload_size=settings.bulk_max_payload_size,
        ),
        filter=Filter(supported=True, max_results=settings.max_count),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="Authentication with an OAuth 2.0 bearer token (RFC 6750)",
                primary=True,
            )
        ],
        meta=Meta(
            resource_type="ServiceProviderConfig",
            location=_join(base_url, "ServiceProviderConfig"),
        ),
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def limits(settings: ScimSettings, base_url: str) -> dict[str, Any]:
    """``/ServiceProviderConfig/limits``: every enforced limit, with what exceeding it gives."""
    body: dict[str, Any] = {
        "schemas": [LIMITS_SCHEMA],
        "maxPayloadSize": settings.max_payload_size,
        "maxJsonDepth": settings.max_json_depth,
        "maxResults": settings.max_count,
        "bulkMaxOperations": settings.bulk_max_operations,
        "bulkMaxPayloadSize": settings.bulk_max_payload_size,
        "bulkTimeBudgetSeconds": settings.bulk_time_budget,
    }
    if settings.max_scan is not None:
        body["maxScan"] = settings.max_scan
    body["meta"] = {"resourceType": "ServiceProviderConfigLimits",
                    "location": _join(base_url, "ServiceProviderConfig/limits")}
    return body


def resource_types(resources: ServedResources, base_url: str) -> list[dict[str, Any]]:
    return [
        _located(rt, base_url, f"ResourceTypes/{rt.id}", "ResourceType")
        for rt in resources.provider.resource_types
    ]


def schemas(resources: ServedResources, base_url: str) -> list[dict[str, Any]]:
    return [_located(s, base_url, f"Schemas/{s.id}", "Schema")
            for s in resources.provider.schemas]


def _located(obj: ResourceType | Schema, base_url: str, path: str, kind: str) -> dict[str, Any]:
    located = obj.model_copy(
        update={"meta": Meta(resource_type=kind, location=_join(base_url, path))}
    )
    return located.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
