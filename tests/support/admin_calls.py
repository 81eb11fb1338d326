"""Admin calls of every shape the gateway sends (method, path, JSON body, query), for the
tests that hold each transport to the request python-keycloak made."""

from __future__ import annotations

from typing import Any

ADMIN_CALL_SHAPES: list[tuple[str, str, Any, dict[str, Any]]] = [
    ("GET", "/r/users/1f3b8c2e", None, {}),
    ("GET", "/r/users", None, {"username": "al ice+x@例え.jp", "exact": True, "first": 0,
                               "max": 500, "briefRepresentation": False}),
    ("GET", "/r/groups/g%2F1/members", None, {"q": "a:b c", "empty": ""}),
    ("GET", "/r/clients/c%20d/roles", None, {"multi": ["a", "b c"]}),
    ("POST", "/r/users", {"username": "ünï", "attributes": {"x": ["1"]}}, {}),
    ("POST", "/r/users/u/logout", None, {}),
    ("PUT", "/r/users/u", {"enabled": False}, {}),
    ("PUT", "/r/users/u/groups/g", None, {}),
    ("DELETE", "/r/users/u", None, {}),
    ("DELETE", "/r/users/u/role-mappings/realm", [{"id": "x", "name": "y"}], {}),
    ("POST", "", {"realm": "new"}, {}),
]
