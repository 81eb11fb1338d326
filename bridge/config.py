"""Settings from the environment, each checked when read. Secrets have no defaults: a
missing one stops startup. A malformed value stops it too, in one line naming the variable
(never its value when the variable holds a secret); every bad variable gets its line."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class MissingSetting(RuntimeError):
    """A required environment variable is not set, or one is malformed (``problems``: one
    line each, the variable named first)."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class InvalidSetting(MissingSetting, ValueError):
    """A variable is set to a value the bridge cannot use."""


@dataclass(frozen=True)
class StaticToken:
    """A static SCIM bearer token, as configured: its name, the SHA-256 of the token (the
    token itself is never configured) and the tenant it is bound to, if any."""

    name: str
    sha256: str
    tenant: str | None = None


STATIC_TOKEN_SYNTAX = "name=<sha256 hex>[@tenant]"  # noqa: S105 (a syntax, no secret)
STATIC_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""A static token's name (and its tenant's): what the setting's syntax cannot confuse."""


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a static token is configured by (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def static_token_entry(name: str, token: str, tenant: str | None = None) -> str:
    """The ``BRIDGE_SCIM_STATIC_TOKENS`` entry of ``token`` (``name=<sha256 hex>[@tenant]``,
    what :func:`parse_static_tokens` reads); entries are joined with commas."""
    for label, value in (("name", name), ("tenant", tenant)):
        if value is not None and not STATIC_TOKEN_NAME.match(value):
            raise ValueError(f"a static token's {label} is 1 to 64 letters, digits, '.', '_' "
                             f"or '-', starting with a letter or digit, not {value!r}")
    return f"{name}={token_digest(token)}" + (f"@{tenant}" if tenant else "")


def parse_static_tokens(value: str | None) -> tuple[StaticToken, ...]:
    """``BRIDGE_SCIM_STATIC_TOKENS``: ``name=<sha256 hex>[@tenant]`` entries separated by
    commas; :class:`InvalidSetting` names the first malformed entry (by name: a digest is
    not a secret, but an entry may hold a token pasted by mistake)."""
    tokens = []
    for entry in filter(None, (part.strip() for part in (value or "").split(","))):
        name, sep, rest = entry.partition("=")
        digest, _, tenant = rest.partition("@")
        digest = digest.strip().lower()
        if not sep or not name or len(digest) != 64 or not all(c in "0123456789abcdef"
                                                                for c in digest):
            raise InvalidSetting(f"BRIDGE_SCIM_STATIC_TOKENS entry {name or '?'!r} is not "
                                 f"{STATIC_TOKEN_SYNTAX}")
        tokens.append(StaticToken(name.strip(), digest, tenant.strip() or None))
    return tuple(tokens)


SESSION_SECRET_MIN = 32
"""Shortest ``BRIDGE_SESSION_SECRET`` accepted (characters)."""


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
        raise InvalidSetting(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number; startup stops on anything else (a limit is never off)."""
    value = env.get(name)
    if not value:
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise InvalidSetting(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSetting(f"{name} must be an http:// or https:// URL, not {value!r}")
    return value.rstrip("/")


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    """A realm or client name: one path segment of Keycloak's URLs."""
    value = env.get(name) or default
    if value != value.strip() or any(c in value for c in "/?#%\\") or value in (".", ".."):
        raise InvalidSetting(f"{name} must be a Keycloak name (no '/', '?', '#', '%' or "
                             f"spaces around it), not {value!r}")
    return value


def keycloak_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return _http_url("KEYCLOAK_URL", env.get("KEYCLOAK_URL") or "http://127.0.0.1:8080")


def lock_url(env: Mapping[str, str]) -> str | None:
    """``BRIDGE_LOCK_URL``: a ``postgresql://`` URL, or unset. A secret (it may carry a
    password): never repeated in an error."""
    url = env.get("BRIDGE_LOCK_URL") or None
    if url is not None and not url.startswith(("postgresql://", "postgres://")):
        raise InvalidSetting("BRIDGE_LOCK_URL must be a postgresql:// URL")
    return url


def lock_backend(env: Mapping[str, str] | None = None) -> tuple[str | None, float]:
    """``BRIDGE_LOCK_URL`` and ``BRIDGE_LOCK_TIMEOUT``: the write locks every writer of
    users and groups shares (the server, the CLI, the catalog reconcile)."""
    env = os.environ if env is None else env
    return _checked(lambda: lock_url(env), lambda: _seconds(env, "BRIDGE_LOCK_TIMEOUT", 10.0))


def _checked(*reads: Callable[[], Any]) -> tuple[Any, ...]:
    """Every read done, every failure kept: one :class:`InvalidSetting` listing them all."""
    values: list[Any] = []
    problems: list[str] = []
    for read in reads:
        try:
            values.append(read())
        except MissingSetting as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidSetting(*problems)
    return tuple(values)


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
    # BRIDGE_SESSION_SECRET: signs the session cookie of the access-request review pages
    # (bridge/access_requests/web.py); the same value on every replica, so a sign-in begun
    # on one finishes on another. Unset: access requests are off (their routes answer 503).
    session_secret: str | None = None
    # BRIDGE_PUBLIC_URL: where people reach the bridge (the balancer), for the links of the
    # access-request mails and the review client's redirect URI (realm-config).
    public_url: str = "http://127.0.0.1:8000"
    # BRIDGE_REVIEW_CLIENT_ID: the realm's client the review pages sign people in with.
    review_client_id: str = "bridge-review"
    # BRIDGE_SMTP_PASSWORD: the password of the realm's SMTP user (smtpServer.user), which
    # the admin API masks, for the access-request mails the bridge sends itself. A secret.
    smtp_password: str | None = None

    @property
    def issuer(self) -> str:
        """The realm at ``KEYCLOAK_URL`` (where keys are fetched); the issuers accepted in
        tokens are :attr:`token_issuers` or discovered, not necessarily this URL."""
        return f"{self.keycloak_url}/realms/{self.realm}"

    @property
    def static_tokens(self) -> tuple[StaticToken, ...]:
        return parse_static_tokens(self.scim_static_tokens)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The server's settings; :class:`MissingSetting` lists every variable missing or
        malformed, one line each."""
        env = os.environ if env is None else env

        def secret() -> str:
            value = env.get("BRIDGE_CLIENT_SECRET")
            if not value:
                raise MissingSetting("BRIDGE_CLIENT_SECRET must be set (the bridge client's "
                                     "secret)")
            return value

        def static_tokens() -> str:
            value = env.get("BRIDGE_SCIM_STATIC_TOKENS", "")
            parse_static_tokens(value)
            return value

        def managed_root() -> str:
            value = env.get("BRIDGE_SCIM_MANAGED_ROOT") or "/bridge/scim"
            if not value.startswith("/") or value == "/" or "//" in value:
                raise InvalidSetting("BRIDGE_SCIM_MANAGED_ROOT must be a group path such as "
                                     f"/bridge/scim, not {value!r}")
            return value.rstrip("/")

        def group_cache_ttl() -> float:
            if env.get("BRIDGE_GROUP_CACHE_TTL", "").strip() == "0":
                return 0.0
            return _seconds(env, "BRIDGE_GROUP_CACHE_TTL", 10.0)

        def token_issuers() -> tuple[str, ...]:
            return tuple(_http_url("BRIDGE_TOKEN_ISSUERS", issuer.strip())
                         for issuer in env.get("BRIDGE_TOKEN_ISSUERS", "").split(",")
                         if issuer.strip())

        def session_secret() -> str | None:
            value = env.get("BRIDGE_SESSION_SECRET") or None
            if value is not None and len(value) < SESSION_SECRET_MIN:
                # Never the value: it is a secret.
                raise InvalidSetting(f"BRIDGE_SESSION_SECRET must be at least "
                                     f"{SESSION_SECRET_MIN} characters (e.g. `openssl rand "
                                     "-hex 32`), the same on every replica")
            return value

        values = _checked(
            lambda: keycloak_url(env),
            lambda: _name(env, "BRIDGE_REALM", "access"),
            lambda: _name(env, "BRIDGE_CLIENT_ID", "bridge"),
            secret, static_tokens, managed_root,
            lambda: env.get("BRIDGE_CATALOG") or None,
            lambda: _count(env, "BRIDGE_SCIM_MAX_SCAN", 1000),
            lambda: _seconds(env, "BRIDGE_SCIM_BULK_TIME_BUDGET", 25.0),
            lambda: lock_url(env),
            lambda: _seconds(env, "BRIDGE_LOCK_TIMEOUT", 10.0),
            group_cache_ttl, token_issuers,
            lambda: _seconds(env, "BRIDGE_JWKS_MAX_AGE", 300.0),
            session_secret,
            lambda: _http_url("BRIDGE_PUBLIC_URL",
                              env.get("BRIDGE_PUBLIC_URL") or "http://127.0.0.1:8000"),
            lambda: _name(env, "BRIDGE_REVIEW_CLIENT_ID", "bridge-review"),
            lambda: env.get("BRIDGE_SMTP_PASSWORD") or None,
        )
        (url, realm, client_id, client_secret, tokens, root, catalog, max_scan, bulk_budget,
         locks_at, lock_timeout, cache_ttl, issuers, jwks_max_age, session_key, public_url,
         review_client, smtp_password) = values
        return cls(
            keycloak_url=url, realm=realm, client_id=client_id, client_secret=client_secret,
            scim_static_tokens=tokens, scim_managed_root=root, catalog_path=catalog,
            scim_max_scan=max_scan, scim_bulk_time_budget=bulk_budget, lock_url=locks_at,
            lock_timeout=lock_timeout, group_cache_ttl=cache_ttl, token_issuers=issuers,
            jwks_max_age=jwks_max_age, session_secret=session_key, public_url=public_url,
            review_client_id=review_client, smtp_password=smtp_password,
        )
