"""Non-SCIM HTTP APIs of the bridge: ``/api/v1`` (invitations, lifecycle).

Never calls Keycloak itself: routes turn JSON into use-case values
(:mod:`bridge.invitations`) and render their results and errors."""

from bridge.api.blueprint import create_api_blueprint

__all__ = ["create_api_blueprint"]
