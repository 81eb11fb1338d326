"""Settings from the environment. Secrets have no defaults: a missing one stops startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class MissingSetting(RuntimeError):
    """A required environment variable is not set."""


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        if env.get(name):
            return env[name]
    return None


@dataclass(frozen=True)
class AdminCredentials:
    """A Keycloak administrator's login, used by ``bridge realm`` (never by the server)."""

    url: str
    username: str
    password: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AdminCredentials:
        env = os.environ if env is None else env
        username = _first(env, "KEYCLOAK_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_USERNAME")
        password = _first(env, "KEYCLOAK_ADMIN_PASSWORD", "KC_BOOTSTRAP_ADMIN_PASSWORD")
        if not username or not password:
            raise MissingSetting("KEYCLOAK_ADMIN_USERNAME and KEYCLOAK_ADMIN_PASSWORD "
                                 "(or KC_BOOTSTRAP_ADMIN_*) must be set")
        return cls(keycloak_url(env), username, password)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number; startup stops on anything else (a limit is never off)."""
    value = env.get(name)
    if not value:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def keycloak_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("KEYCLOAK_URL") or "http://127.0.0.1:8080").rstrip("/")


def lock_backend(env: Mapping[str, str] | None = None) -> tuple[str | None, float]:
    """``BRIDGE_LOCK_URL`` and ``BRIDGE_LOCK_TIMEOUT``: the write locks every writer of
    users and groups shares (the server, the CLI, the catalog reconcile)."""
    env = os.environ if env is None else env
    return env.get("BRIDGE_LOCK_URL") or None, _seconds(env, "BRIDGE_LOCK_TIMEOUT", 10.0)


@dataclass(frozen=True)
class Settings:
    """What the bridge server needs: where Keycloak is and its own service-account login."""

    keycloak_url: str
    realm: str
    client_id: str
    client_secret: str
    # BRIDGE_SCIM_STATIC_TOKENS: "name=<sha256 hex>[@tenant],..." (digests only, never tokens)
    scim_static_tokens: str = ""
    scim_managed_root: str = "/bridge/scim"
    # BRIDGE_CATALOG: the access catalog (a catalog.yaml or its directory) every write path
    # enforces; without it the SCIM domain extension is stored as given, unchecked.
    catalog_path: str | None = None
    # BRIDGE_LOCK_URL: postgresql://... shared by every replica (advisory locks making
    # If-Match, PATCH and name uniqueness atomic across replicas); unset = in-process locks,
    # enough for one replica only. BRIDGE_LOCK_TIMEOUT: seconds a write waits (then 503).
    lock_url: str | None = None
    lock_timeout: float = 10.0
    # BRIDGE_GROUP_CACHE_TTL: seconds a member-only group PATCH may answer from this
    # replica's last read of the group (the staleness bound of that reply; 0 = always read).
    group_cache_ttl: float = 10.0
    # BRIDGE_TOKEN_ISSUERS: the `iss` values tokens may carry ("url,url"), apart from
    # KEYCLOAK_URL; empty: the issuer of the realm's discovery document (bridge.auth).
    token_issuers: tuple[str, ...] = ()
    # BRIDGE_JWKS_MAX_AGE: seconds the realm's signing keys are trusted before a refetch.
    jwks_max_age: float = 300.0
    # BRIDGE_SCIM_MAX_SCAN: the most users a SCIM filter Keycloak cannot answer (or a sort)
    # may examine; beyond, 400 tooMany naming the filters Keycloak answers. ~0.6 ms a user.
    scim_max_scan: int = 1000
    # BRIDGE_SCIM_BULK_TIME_BUDGET: seconds a /Bulk request may start operations.
    scim_bulk_time_budget: float = 25.0

    @property
    def issuer(self) -> str:
        """The realm at ``KEYCLOAK_URL`` (where keys are fetched); the issuers accepted in
        tokens are :attr:`token_issuers` or discovered, not necessarily this URL."""
        return f"{self.keycloak_url}/realms/{self.realm}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        secret = env.get("BRIDGE_CLIENT_SECRET")
        if not secret:
            raise MissingSetting("BRIDGE_CLIENT_SECRET must be set (the bridge client's secret)")
        return cls(
            keycloak_url=keycloak_url(env),
            realm=env.get("BRIDGE_REALM") or "access",
            client_id=env.get("BRIDGE_CLIENT_ID") or "bridge",
            client_secret=secret,
            scim_static_tokens=env.get("BRIDGE_SCIM_STATIC_TOKENS", ""),
            scim_managed_root=env.get("BRIDGE_SCIM_MANAGED_ROOT") or "/bridge/scim",
            catalog_path=env.get("BRIDGE_CATALOG") or None,
            scim_max_scan=_count(env, "BRIDGE_SCIM_MAX_SCAN", 1000),
            scim_bulk_time_budget=_seconds(env, "BRIDGE_SCIM_BULK_TIME_BUDGET", 25.0),
            lock_url=lock_backend(env)[0],
            lock_timeout=lock_backend(env)[1],
            group_cache_ttl=0.0 if env.get("BRIDGE_GROUP_CACHE_TTL", "").strip() == "0"
            else _seconds(env, "BRIDGE_GROUP_CACHE_TTL", 10.0),
            token_issuers=tuple(issuer.strip().rstrip("/") for issuer in
                                env.get("BRIDGE_TOKEN_ISSUERS", "").split(",")
                                if issuer.strip()),
            jwks_max_age=_seconds(env, "BRIDGE_JWKS_MAX_AGE", 300.0),
        )
