"""A stand-in for Keycloak on loopback, for tests of the server process itself (start-up
checks, graceful shutdown, metrics across workers), where what matters is the bridge's
process and not Keycloak's answers.

It answers one realm's discovery document and client-credentials logins (one client
secret), and the admin reads a SCIM ``GET /Users/{id}`` makes: the user itself (after
``user_delay`` seconds: a request that stays in flight as long as a test needs), its groups
and the protected-account lookups (none in this realm). Every other admin call is a 404.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback_http import LoopbackHandler, loopback_server

USER_ID = "4f1d2c3b-0000-4000-8000-000000000001"


@dataclass
class KeycloakStub:
    realm: str = "access"
    client_id: str = "bridge"
    client_secret: str = "stub-secret"
    user_delay: float = 0.0
    url: str = ""
    requests: list[str] = field(default_factory=list)

    def user(self) -> dict[str, Any]:
        return {"id": USER_ID, "username": "slow.user", "email": "slow.user@example.com",
                "enabled": True, "emailVerified": True, "firstName": "Slow",
                "lastName": "User", "createdTimestamp": 1_700_000_000_000,
                "attributes": {}}

    def answer(self, method: str, path: str, form: dict[str, list[str]]
               ) -> tuple[int, Any]:
        if method == "GET" and path == f"/realms/{self.realm}/.well-known/openid-configuration":
            base = f"{self.url}/realms/{self.realm}"
            return 200, {"issuer": base, "jwks_uri": f"{base}/protocol/openid-connect/certs",
                         "token_endpoint": f"{base}/protocol/openid-connect/token"}
        if method == "GET" and path == f"/realms/{self.realm}/protocol/openid-connect/certs":
            return 200, {"keys": []}
        if method == "POST" and path == f"/realms/{self.realm}/protocol/openid-connect/token":
            if (form.get("client_id") == [self.client_id]
                    and form.get("client_secret") == [self.client_secret]):
                return 200, {"access_token": "stub-admin-token", "expires_in": 300,
                             "token_type": "Bearer", "scope": "profile email"}
            return 401, {"error": "unauthorized_client",
                         "error_description": "Invalid client or Invalid client credentials"}
        if path.startswith("/realms/"):
            return 404, {"error": "Realm does not exist"}
        # The admin API, as the segments after /admin/realms/{realm}.
        prefix = ("", "admin", "realms", self.realm)
        segments = tuple(path.split("/"))
        if method != "GET" or segments[:4] != prefix:
            return 404, {"error": "not found"}
        asked = segments[4:]
        if asked == ("users", USER_ID):
            time.sleep(self.user_delay)
            return 200, self.user()
        if asked == ("clients",):
            return 200, [{"id": "realm-management-id", "clientId": "realm-management"}]
        if asked in (("users",), ("users", USER_ID, "groups"), ("roles",),
                     ("clients", "realm-management-id", "roles")):
            return 200, []  # no groups, no admin roles, no service accounts
        return 404, {"error": "not found"}

    @contextmanager
    def running(self) -> Iterator[KeycloakStub]:
        stub = self

        class Handler(LoopbackHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.body().decode()
                stub.requests.append(f"{self.command} {parts.path}")
                status, payload = stub.answer(self.command, parts.path, parse_qs(body))
                self.reply(status, {"Content-Type": "application/json"},
                           json.dumps(payload).encode())

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        with loopback_server(Handler) as url:
            self.url = url
            yield self
