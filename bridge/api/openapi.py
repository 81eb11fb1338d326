"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Written by hand next to the routes (``tests/unit/test_invitations_api.py`` checks that
every route is described and every described path is routed)."""

from __future__ import annotations

from typing import Any

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str, retry: bool = False) -> dict[str, Any]:
    answer = _json(_ref("Error"), description)
    if retry:
        answer["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                             "description": "seconds to wait"}}
    return answer


ERRORS = {
    "400": _error("Invalid request, or a catalog rule refuses it (`error` names the rule, "
                  "e.g. `status.profile`, `exclusive.profile`)"),
    "401": _error("No valid access token of the realm, or the actor is deactivated"),
    "403": _error("Delegation refused (`delegation.not-allowed`, `delegation.tenant`, "
                  "`delegation.rank`, `delegation.perimeter`); `detail` gives the reason"),
    "404": _error("No such user or invitation"),
    "503": _error("Keycloak or its mail server unavailable", retry=True),
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_FACTS = {
    "user_type": {"type": "string", "description": "internal / external (default: the "
                  "status's)"},
    "status": {"type": "string", "description": "a status of the catalog"},
    "profile": {"type": ["string", "null"], "description": "the profile (one per user); "
                "or give `profiles`"},
    "profiles": {**_STRINGS, "description": "profiles (catalogs allowing several)"},
    "toggles": {**_STRINGS, "description": "per-user toggles"},
    "perimeter": {"type": "object", "additionalProperties": _STRINGS,
                  "description": "entries per dimension, e.g. "
                                 '{"project": ["p1", "p2"], "team": ["t1"]}'},
    "tenants": {**_STRINGS, "description": "the user's tenants (dossiers), all of them, "
                                           "replacing the current ones"},
    "tenant": {"type": "string",
               "description": "one tenant this change is for: added, the others kept. A "
                              "profile is per user (seed 004): with `profile`, a different "
                              "profile is refused (`profile.per-tenant`) while the user "
                              "keeps other tenants"},
}


def _id_param(description: str) -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
            "description": description}


def document() -> dict[str, Any]:
    user_id = _id_param("the Keycloak user id")
    invitation_id = _id_param("the invitation's id (the invited user's id)")
    outcome_user = {"type": "object", "required": ["outcome", "user"], "properties": {
        "outcome": {"type": "string"}, "user": _ref("User")}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Access bridge: invitations and lifecycle",
            "version": VERSION,
            "description": (
                "Invite people, list, resend and revoke pending invitations, deactivate, "
                "reactivate, delete and change users. Callers are users of the product "
                "authenticated by a Keycloak access token of the realm; the access catalog "
                "checks every change and says who may invite or change whom."),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/invitations": {
                "post": {
                    "operationId": "invite", "summary": "Invite a person",
                    "description": (
                        "Creates the user with the required actions the catalog implies "
                        "and has Keycloak mail the activation link in the invitee's "
                        "language. An e-mail that already has an account gets no second "
                        "one: 200 `already-invited` (pending) or 409 `already-active`."),
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": _ref("InvitationRequest")}}},
                    "responses": {
                        "201": _json(_ref("InvitationOutcome"), "Invited; mail sent"),
                        "200": _json(_ref("InvitationOutcome"),
                                     "`already-invited`: the pending invitation"),
                        "409": _error("`already-active` (or `already-invited`, outside "
                                      "the actor's reach)"),
                        **ERRORS},
                },
                "get": {
                    "operationId": "listInvitations",
                    "summary": "Pending and expired invitations the caller may manage",
                    "parameters": [
                        {"name": "first", "in": "query", "schema": {"type": "integer",
                                                                   "minimum": 0}},
                        {"name": "max", "in": "query", "schema": {
                            "type": "integer", "minimum": 1, "maximum": 200}},
                        {"name": "state", "in": "query", "schema": {
                            "type": "string", "enum": ["all", "pending"]}}],
                    "responses": {"200": _json(_ref("InvitationPage"), "One page"),
                                  **ERRORS},
                },
            },
            "/invitations/{id}": {
                "get": {"operationId": "getInvitation", "summary": "One pending invitation",
                        "parameters": [invitation_id],
                        "responses": {"200": _json(_ref("Invitation"), "The invitation"),
                                      "409": _error("`not-pending`"), **ERRORS}},
                "delete": {"operationId": "revokeInvitation",
                           "summary": "Revoke before activation (the link stops working)",
                           "parameters": [invitation_id],
                           "responses": {"204": {"description": "Revoked"},
                                         "409": _error("`not-pending`"), **ERRORS}},
            },
            "/invitations/{id}/resend": {
                "post": {"operationId": "resendInvitation",
                         "summary": "Mail a new activation link, with a new expiry",
                         "parameters": [invitation_id],
                         "requestBody": {"required": False, "content": {"application/json": {
                             "schema": {"type": "object", "additionalProperties": False,
                                        "properties": {"lifespan": {"type": "integer"}}}}}},
                         "responses": {"200": _json(_ref("InvitationOutcome"), "Resent"),
                                       "409": _error("`not-pending`"), **ERRORS}},
            },
            "/users/{id}": {
                "get": {"operationId": "getUser", "summary": "One user",
                        "parameters": [user_id],
                        "responses": {"200": _json(_ref("User"), "The user"), **ERRORS}},
                "patch": {"operationId": "updateUser",
                          "summary": "Change names, language, status, profile, toggles, "
                                     "perimeter or tenants",
                          "parameters": [user_id],
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": _ref("UserChange")}}},
                          "responses": {"200": _json(outcome_user, "Updated"), **ERRORS}},
                "delete": {"operationId": "deleteUser", "summary": "Delete the user",
                           "parameters": [user_id],
                           "responses": {"204": {"description": "Deleted"},
                                         "409": _error("`lifecycle.self`"), **ERRORS}},
            },
            "/users/{id}/deactivate": {
                "post": {"operationId": "deactivateUser",
                         "summary": "Disable and end every session (refresh fails)",
                         "parameters": [user_id],
                         "responses": {"200": _json(outcome_user, "Deactivated"),
                                       "409": _error("`lifecycle.self`"), **ERRORS}},
            },
            "/users/{id}/reactivate": {
                "post": {"operationId": "reactivateUser", "summary": "Enable again",
                         "parameters": [user_id],
                         "responses": {"200": _json(outcome_user, "Reactivated"),
                                       **ERRORS}},
            },
            "/me/perimeter": {
                "get": {"operationId": "myPerimeter", "summary": "The caller's perimeter",
                         "description": (
                             "Resolves the `perimeter_ref` claim: a perimeter too large for "
                             "the access token (see docs/access-catalog.md) is read here, "
                             "with the caller's own token."),
                         "responses": {"200": _json({"type": "object", "properties": {
                             "perimeter": {"type": "object", "additionalProperties": {
                                 "type": "array", "items": {"type": "string"}}},
                             "perimeter_ref": {"type": "string"}}}, "The perimeter"),
                             **ERRORS}},
            },
            "/openapi.json": {
                "get": {"operationId": "openapi", "summary": "This document", "security": [],
                        "responses": {"200": {"description": "OpenAPI 3.1 document"}}},
            },
        },
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token of the realm from the catalog's client "
                               "(`portal`), after a login"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "detail"], "properties": {
                    "error": {"type": "string", "description": "a stable code or the rule"},
                    "detail": {"type": "string"},
                    "outcome": {"type": "string", "description": "409: what happened"}}},
                "InvitationRequest": {
                    "type": "object", "required": ["email", "status"],
                    "additionalProperties": False,
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        **_FACTS,
                        "language": {"type": "string", "enum": ["en", "fr"],
                                     "default": "en"},
                        "first_name": {"type": "string"}, "last_name": {"type": "string"},
                        "client_id": {"type": "string", "description": "the client to "
                                      "return to after activation (default: portal)"},
                        "redirect_uri": {"type": "string", "format": "uri"},
                        "lifespan": {"type": "integer", "minimum": 1, "default": 259200,
                                     "description": "seconds the link lives"}}},
                "UserChange": {
                    "type": "object", "additionalProperties": False,
                    "properties": {**_FACTS, "language": {"type": "string",
                                                          "enum": ["en", "fr"]},
                                   "first_name": {"type": "string"},
                                   "last_name": {"type": "string"}}},
                "Facts": {"type": "object", "properties": {
                    "user_type": {"type": ["string", "null"]},
                    "status": {"type": ["string", "null"]},
                    "profiles": _STRINGS, "toggles": _STRINGS,
                    "perimeter": _FACTS["perimeter"], "tenants": _STRINGS}},
                "Invitation": {"allOf": [_ref("Facts"), {"type": "object", "properties": {
                    "id": {"type": "string"}, "email": {"type": "string"},
                    "state": {"type": "string", "enum": ["pending", "expired", "activated"]},
                    "language": {"type": ["string", "null"]},
                    "invited_by": {"type": ["string", "null"]},
                    "sent_at": {"type": ["string", "null"], "format": "date-time"},
                    "expires_at": {"type": ["string", "null"], "format": "date-time"},
                    "client_id": {"type": ["string", "null"]},
                    "redirect_uri": {"type": ["string", "null"]}}}]},
                "InvitationOutcome": {"type": "object", "required": ["outcome", "invitation"],
                                      "properties": {
                                          "outcome": {"type": "string", "enum": [
                                              "invited", "already-invited", "resent"]},
                                          "invitation": _ref("Invitation")}},
                "InvitationPage": {"type": "object", "properties": {
                    "items": {"type": "array", "items": _ref("Invitation")},
                    "first": {"type": "integer"}, "max": {"type": "integer"},
                    "next": {"type": ["integer", "null"],
                             "description": "offset of the next page; null at the end"}}},
                "User": {"allOf": [_ref("Facts"), {"type": "object", "properties": {
                    "id": {"type": "string"}, "username": {"type": "string"},
                    "email": {"type": "string"}, "enabled": {"type": "boolean"},
                    "activated": {"type": "boolean"},
                    "language": {"type": ["string", "null"]},
                    "first_name": {"type": ["string", "null"]},
                    "last_name": {"type": ["string", "null"]},
                    "permissions": _STRINGS}}]},
            },
        },
    }
