"""Fine-Grained Admin Permissions v2 (Keycloak 26.2+, feature ``admin-fine-grained-authz:v2``,
on by default in 26.7.5): admin rights narrower than the ``realm-management`` roles.

With the realm's ``adminPermissionsEnabled`` on, Keycloak keeps them as the authorization
settings of a client of its own, ``admin-permissions`` (:data:`SERVER_CLIENT`): a *permission*
(type ``scope``) names a resource type (``Clients``, ``Users``...), scopes of it (``view``...)
and resources (for ``Clients``, client internal ids); it is granted by its *policies*, here
client policies (a token of one of these clients, i.e. its service account).

Measured on 26.7.5: a ``Clients``/``view`` permission on ``realm-management`` for the bridge
makes ``GET /clients/{realm-management}/roles/{role}/users`` (and ``/groups``, and
``/users/{id}/role-mappings/clients/{realm-management}/composite``) answer 200 to the bridge,
while ``GET /clients/{other}`` and ``/clients/{other}/client-secret`` stay 403, which the
legacy ``view-clients`` role does not (it shows every client's secret).

A permission is addressed by its id (``permission``), ``server`` is the internal id of
:data:`SERVER_CLIENT`. Each function is one admin call, except the listings, which page.
"""

from __future__ import annotations

from typing import Any

from bridge.keycloak import clients as kc_clients
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import every_page, realm_path, segment

SERVER_CLIENT = "admin-permissions"


def server(gw: AdminGateway, realm: str) -> str | None:
    """The internal id of :data:`SERVER_CLIENT`, or None while the realm's
    ``adminPermissionsEnabled`` is off (Keycloak makes the client when it is turned on)."""
    found = kc_clients.find(gw, realm, SERVER_CLIENT)
    return str(found["id"]) if found else None


def _base(realm: str, server_id: str, *parts: str) -> str:
    return realm_path(realm, "clients", segment(server_id), "authz", "resource-server", *parts)


def permissions(gw: AdminGateway, realm: str, server_id: str) -> list[dict[str, Any]]:
    """``GET .../permission``: every permission (id, name, description, resourceType...)."""
    return every_page(lambda first, max: gw.get(_base(realm, server_id, "permission"),
                                                first=first, max=max))


def client_policies(gw: AdminGateway, realm: str, server_id: str) -> list[dict[str, Any]]:
    """``GET .../policy?type=client``: every client policy, with ``config.clients`` (a JSON
    list of client internal ids)."""
    return every_page(lambda first, max: gw.get(_base(realm, server_id, "policy"),
                                                type="client", permission="false",
                                                first=first, max=max))


def resources(gw: AdminGateway, realm: str, server_id: str,
              permission: str) -> list[dict[str, Any]]:
    """``GET .../policy/{id}/resources``: for ``Clients``, ``name`` is a client's internal id
    and ``displayName`` its clientId."""
    found: list[dict[str, Any]] = gw.get(
        _base(realm, server_id, "policy", segment(permission), "resources"))
    return found


def scopes(gw: AdminGateway, realm: str, server_id: str, permission: str) -> list[str]:
    """``GET .../policy/{id}/scopes``: the scope names the permission grants."""
    return [s["name"] for s in gw.get(
        _base(realm, server_id, "policy", segment(permission), "scopes"))]


def associated_policies(gw: AdminGateway, realm: str, server_id: str,
                        permission: str) -> list[dict[str, Any]]:
    """``GET .../policy/{id}/associatedPolicies``: the policies that grant it."""
    found: list[dict[str, Any]] = gw.get(
        _base(realm, server_id, "policy", segment(permission), "associatedPolicies"))
    return found


def create_client_policy(gw: AdminGateway, realm: str, server_id: str, name: str,
                         clients: list[str]) -> str:
    """``POST .../policy/client``: a policy granting to tokens of ``clients`` (internal ids);
    returns its id."""
    rep = gw.post_json(_base(realm, server_id, "policy", "client"),
                       {"name": name, "logic": "POSITIVE", "decisionStrategy": "UNANIMOUS",
                        "clients": clients})
    return str(rep["id"])


def update_client_policy(gw: AdminGateway, realm: str, server_id: str, policy: str,
                         name: str, clients: list[str]) -> None:
    """``PUT .../policy/client/{id}``."""
    gw.put(_base(realm, server_id, "policy", "client", segment(policy)),
           {"id": policy, "name": name, "type": "client", "logic": "POSITIVE",
            "decisionStrategy": "UNANIMOUS", "clients": clients})


def _permission_body(rep: dict[str, Any]) -> dict[str, Any]:
    return {"type": "scope", "logic": "POSITIVE", "decisionStrategy": "UNANIMOUS", **rep}


def create_permission(gw: AdminGateway, realm: str, server_id: str,
                      rep: dict[str, Any]) -> None:
    """``POST .../permission/scope`` with ``name``, ``description``, ``resourceType``,
    ``resources`` (internal ids), ``scopes`` (names) and ``policies`` (ids)."""
    gw.post(_base(realm, server_id, "permission", "scope"), _permission_body(rep))


def update_permission(gw: AdminGateway, realm: str, server_id: str, permission: str,
                      rep: dict[str, Any]) -> None:
    """``PUT .../permission/scope/{id}``: the whole permission, as for a create."""
    gw.put(_base(realm, server_id, "permission", "scope", segment(permission)),
           _permission_body({"id": permission, **rep}))


def delete_policy(gw: AdminGateway, realm: str, server_id: str, policy: str) -> None:
    """``DELETE .../policy/{id}``: a permission or a policy."""
    gw.delete(_base(realm, server_id, "policy", segment(policy)))
