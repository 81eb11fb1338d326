"""Liveness and readiness, and the start-up checks that share readiness's questions.

Ready means the bridge can do its work: Keycloak answers, the realm exists (its discovery
document), and the bridge's own service account can log in (a wrong
``BRIDGE_CLIENT_SECRET`` fails every SCIM and API call, so it is not ready). The same
:func:`check` runs before the server starts (:mod:`bridge.server`): a realm that does not
exist or a refused login stops the start in one line, while an unreachable Keycloak only
delays readiness (the server starts, and recovers when Keycloak is back).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from bridge.config import Settings
from bridge.errors import DirectoryError, Unavailable
from bridge.keycloak.client import AdminGateway

health = Blueprint("health", __name__)

CHECK_TIMEOUT = 3.0
"""Seconds each readiness question may take (a probe's own timeout is usually 4-5 s)."""
READINESS_TTL = 5.0
"""Seconds an answer of :func:`check` is reused by ``/readyz``: however often it is probed,
a replica logs in at most once per this interval (the staleness bound of its answer)."""


@dataclass(frozen=True)
class Readiness:
    """What each question answered (``ok``, or a short word) and, when not ready, the one
    line that says why. Never a secret: the login is named by client and realm."""

    keycloak: str = "ok"
    realm: str = "ok"
    service_account: str = "ok"
    reason: str | None = None

    @property
    def ready(self) -> bool:
        return self.reason is None

    @property
    def misconfigured(self) -> bool:
        """A fault of the settings (no such realm, a refused login), not of the moment."""
        return self.realm == "not found" or self.service_account == "refused"


def check(settings: Settings, gateway: AdminGateway, timeout: float = CHECK_TIMEOUT
          ) -> Readiness:
    """Ask Keycloak for the realm, then log in as the bridge's service account."""
    realm = settings.realm
    url = f"{settings.keycloak_url}/realms/{realm}/.well-known/openid-configuration"
    try:
        status = requests.get(url, timeout=timeout).status_code
    except requests.RequestException:
        return Readiness(keycloak="unreachable", realm="unknown", service_account="unknown",
                         reason=f"Keycloak unreachable at {settings.keycloak_url}")
    if status == 404:
        return Readiness(realm="not found", service_account="unknown",
                         reason=f"realm {realm!r} not found at {settings.keycloak_url} "
                                "(BRIDGE_REALM)")
    if status != 200:
        return Readiness(keycloak=f"answered {status}", realm="unknown",
                         service_account="unknown",
                         reason=f"Keycloak answered {status} for realm {realm!r}")
    try:
        gateway.check_login(timeout=timeout)
    except Unavailable:
        return Readiness(keycloak="unreachable", service_account="unknown",
                         reason=f"Keycloak unreachable at {settings.keycloak_url} for the "
                                "service-account login")
    except DirectoryError as exc:
        status = getattr(exc, "status", None)  # the gateway's errors carry Keycloak's
        if status is not None and status >= 500:
            return Readiness(keycloak=f"answered {status}", service_account="unknown",
                             reason=f"Keycloak answered {status} to the service-account "
                                    "login")
        why = " ".join(str(part) for part in (status, exc.detail) if part)
        return Readiness(service_account="refused", reason=(
            f"Keycloak refused the service-account login of client {settings.client_id!r} "
            f"in realm {realm!r} ({why or 'refused'}): check BRIDGE_CLIENT_ID and "
            "BRIDGE_CLIENT_SECRET"))
    return Readiness()


class _Cached:
    """The last :func:`check` of this process, reused for :data:`READINESS_TTL` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._answer = Readiness()

    def get(self, settings: Settings, gateway: AdminGateway) -> Readiness:
        with self._lock:  # one check at a time; concurrent probes share its answer
            if time.monotonic() - self._at >= READINESS_TTL:
                self._answer = check(settings, gateway)
                self._at = time.monotonic()
            return self._answer


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    cached = current_app.extensions.setdefault("bridge.readiness", _Cached())
    answer = cached.get(current_app.config["BRIDGE_SETTINGS"],
                        current_app.extensions["bridge.gateway"])
    checks = {"keycloak": answer.keycloak, "realm": answer.realm,
              "service_account": answer.service_account}
    if not answer.ready:
        return (jsonify(status="unavailable", reason=answer.reason, **checks), 503,
                {"Retry-After": "5"})
    return jsonify(status="ready", **checks)
