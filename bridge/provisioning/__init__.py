"""Provisioning: the SCIM storage over Keycloak (``KeycloakScimBackend``) and its mapping.

``access_schema.py`` declares the SCIM access extension and registers it with the protocol
layer (``KeycloakScimBackend.resources``); ``backend.py`` implements
:class:`scim.backend.ScimBackend`; ``mapping.py`` maps SCIM
resources to Keycloak representations; ``access.py`` maps the domain extension (replaced by
the access catalog later); ``filters.py`` decides what Keycloak can answer of a filter;
``tenancy.py`` is the tenancy rule (:class:`scim.backend.TenantScope`) over SCIM Users.
"""

from bridge.provisioning.backend import KeycloakScimBackend

__all__ = ["KeycloakScimBackend"]
