"""Loading ``realm-config/``: YAML files → one validated ``RealmConfig``.

Every file under the directory (recursively, except ``examples/``) may hold any of the
top-level keys below; lists are concatenated. Validation is complete before anything is
written: an unknown key, a wrong type or a missing ``${VAR}`` is reported with its file and
key path, all at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` are ``file: key.path: message`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- realm settings -----------------------------------------------------------------------

class Settings(_Strict):
    """Realm-level settings; names are those of Keycloak's RealmRepresentation."""

    displayName: str | None = None
    displayNameHtml: str | None = None
    enabled: bool | None = None
    internationalizationEnabled: bool | None = None
    supportedLocales: list[str] | None = None
    defaultLocale: str | None = None
    loginTheme: str | None = None
    emailTheme: str | None = None
    passwordPolicy: str | None = None
    bruteForceProtected: bool | None = None
    permanentLockout: bool | None = None
    failureFactor: int | None = None
    waitIncrementSeconds: int | None = None
    maxFailureWaitSeconds: int | None = None
    minimumQuickLoginWaitSeconds: int | None = None
    quickLoginCheckMilliSeconds: int | None = None
    maxDeltaTimeSeconds: int | None = None
    smtpServer: dict[str, str] | None = None
    eventsEnabled: bool | None = None
    eventsExpiration: int | None = None
    enabledEventTypes: list[str] | None = None
    adminEventsEnabled: bool | None = None
    adminEventsDetailsEnabled: bool | None = None
    accessTokenLifespan: int | None = None
    accessCodeLifespan: int | None = None
    accessCodeLifespanLogin: int | None = None
    accessCodeLifespanUserAction: int | None = None
    actionTokenGeneratedByAdminLifespan: int | None = None
    actionTokenGeneratedByUserLifespan: int | None = None
    ssoSessionIdleTimeout: int | None = None
    ssoSessionMaxLifespan: int | None = None
    offlineSessionIdleTimeout: int | None = None
    revokeRefreshToken: bool | None = None
    refreshTokenMaxReuse: int | None = None
    verifyEmail: bool | None = None
    loginWithEmailAllowed: bool | None = None
    duplicateEmailsAllowed: bool | None = None
    resetPasswordAllowed: bool | None = None
    rememberMe: bool | None = None
    registrationAllowed: bool | None = None
    editUsernameAllowed: bool | None = None
    sslRequired: Literal["all", "external", "none"] | None = None
    browserFlow: str | None = None
    directGrantFlow: str | None = None
    resetCredentialsFlow: str | None = None


# -- roles, clients, mappers ----------------------------------------------------------------

class Role(_Strict):
    name: str
    description: str | None = None
    attributes: dict[str, list[str]] | None = None


class ProtocolMapper(_Strict):
    name: str
    protocol: str = "openid-connect"
    protocolMapper: str
    config: dict[str, str] = Field(default_factory=dict)


class Client(_Strict):
    clientId: str
    name: str | None = None
    description: str | None = None
    enabled: bool | None = True
    protocol: Literal["openid-connect"] = "openid-connect"
    publicClient: bool | None = None
    secret: str | None = None
    clientAuthenticatorType: str | None = None
    standardFlowEnabled: bool | None = None
    implicitFlowEnabled: bool | None = None
    directAccessGrantsEnabled: bool | None = None
    serviceAccountsEnabled: bool | None = None
    consentRequired: bool | None = None
    fullScopeAllowed: bool | None = None
    frontchannelLogout: bool | None = None
    rootUrl: str | None = None
    baseUrl: str | None = None
    adminUrl: str | None = None
    redirectUris: list[str] | None = None
    webOrigins: list[str] | None = None
    attributes: dict[str, str] | None = None
    defaultClientScopes: list[str] | None = None
    optionalClientScopes: list[str] | None = None
    # Sub-resources, each planned as its own kind.
    roles: list[Role] = Field(default_factory=list)
    protocolMappers: list[ProtocolMapper] = Field(default_factory=list)
    serviceAccountRoles: ServiceAccountRoles | None = None


class ServiceAccountRoles(_Strict):
    """Exactly the roles a client's service account holds: nothing else survives an apply."""

    realm: list[str] = Field(default_factory=list)
    clients: dict[str, list[str]] = Field(default_factory=dict)


Client.model_rebuild()


# -- groups and flows -----------------------------------------------------------------------

class Group(_Strict):
    name: str
    attributes: dict[str, list[str]] | None = None
    realmRoles: list[str] = Field(default_factory=list)
    clientRoles: dict[str, list[str]] = Field(default_factory=dict)
    subGroups: list[Group] = Field(default_factory=list)


Requirement = Literal["REQUIRED", "ALTERNATIVE", "CONDITIONAL", "DISABLED"]


class AuthenticatorConfig(_Strict):
    alias: str
    config: dict[str, str] = Field(default_factory=dict)


class Execution(_Strict):
    """One step of a flow: an ``authenticator`` or a sub-``flow`` with its own steps."""

    authenticator: str | None = None
    flow: str | None = None
    description: str | None = None
    requirement: Requirement = "DISABLED"
    config: AuthenticatorConfig | None = None
    executions: list[Execution] = Field(default_factory=list)


class Flow(_Strict):
    alias: str
    description: str = ""
    providerId: Literal["basic-flow"] = "basic-flow"
    executions: list[Execution] = Field(default_factory=list)


class UserProfile(_Strict):
    """Keycloak's declarative user profile. Attributes are merged by name into the live
    profile (Keycloak's own username, email, firstName, lastName stay unless redeclared)."""

    unmanagedAttributePolicy: Literal["ENABLED", "ADMIN_EDIT", "ADMIN_VIEW"] | None = None
    attributes: list[dict[str, Any]] = Field(default_factory=list)


class RealmConfig(_Strict):
    realm: str
    settings: Settings = Field(default_factory=Settings)
    userProfile: UserProfile | None = None
    roles: list[Role] = Field(default_factory=list)
    clients: list[Client] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)


TOP_LEVEL_LISTS = ("roles", "clients", "groups", "flows")
TOP_LEVEL_KEYS = ("realm", "settings", "userProfile", *TOP_LEVEL_LISTS)
CATALOG_KEY = "catalog"  # a document of its own, validated by bridge.catalog

# ${VAR} or ${VAR:-default}; $${...} escapes a literal.
_VAR = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def substitute(value: Any, env: Mapping[str, str], where: str, problems: list[str]) -> Any:
    """Replace ``${VAR}`` in every string scalar; structure never comes from a variable."""
    if isinstance(value, str):
        def repl(match: re.Match[str]) -> str:
            escaped, name, default = match.groups()
            if escaped:
                return match.group(0)[1:]
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{where}: environment variable {name} is not set")
            return ""
        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, env, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: substitute(v, env, f"{where}.{k}" if where else str(k), problems)
                for k, v in value.items()}
    return value


def config_files(directory: Path) -> list[Path]:
    files = [p for p in sorted(directory.rglob("*.y*ml"))
             if p.suffix in (".yaml", ".yml")
             and "examples" not in p.relative_to(directory).parts[:-1]]
    return files


def load(directory: Path | str | Sequence[Path | str],
         env: Mapping[str, str] | None = None) -> RealmConfig:
    """Read, substitute and validate configuration directories, or raise ConfigError.

    Several directories are read as one configuration (``realm-config`` plus an example's
    directory holding its catalog). A ``catalog:`` document is validated by the access
    catalog and merged in as client roles, groups and token mappers.
    """
    return load_with_catalog(directory, env)[0]


def load_with_catalog(directory: Path | str | Sequence[Path | str],
                      env: Mapping[str, str] | None = None) -> tuple[RealmConfig, Any]:
    """Like :func:`load`, also returning the access catalog (or None)."""
    directories = [Path(directory)] if isinstance(directory, str | Path) else [
        Path(d) for d in directory]
    env = os.environ if env is None else env
    problems: list[str] = []
    files: list[tuple[Path, Path]] = []
    for root in directories:
        if not root.is_dir():
            problems.append(f"{root}: not a directory")
            continue
        found = config_files(root)
        if not found:
            problems.append(f"{root}: no YAML files")
        files += [(root, path) for path in found]
    if problems:
        raise ConfigError(problems)
    merged: dict[str, Any] = {key: [] for key in TOP_LEVEL_LISTS}
    origin: dict[str, list[tuple[Path, int]]] = {key: [] for key in TOP_LEVEL_LISTS}
    scalar_origin: dict[str, Path] = {}
    catalog_document: tuple[Path, Any] | None = None
    for root, path in files:
        shown = path.relative_to(root.parent) if root.parent != path else path
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark else ""
            problems.append(f"{shown}:{line} invalid YAML: {getattr(exc, 'problem', exc)}")
            continue
        except OSError as exc:
            problems.append(f"{shown}: cannot read: {exc.strerror}")
            continue
        if document is None:
            continue
        if not isinstance(document, dict):
            problems.append(f"{shown}: top level must be a mapping")
            continue
        if CATALOG_KEY in document:
            if catalog_document is not None:
                problems.append(f"{shown}: {CATALOG_KEY}: already given in "
                                f"{catalog_document[0]}")
            else:
                catalog_document = (shown, document)
            continue
        for key, value in document.items():
            if key not in TOP_LEVEL_KEYS:
                problems.append(f"{shown}: {key}: unknown key (expected one of "
                                f"{', '.join((*TOP_LEVEL_KEYS, CATALOG_KEY))})")
                continue
            value = substitute(value, env, str(key), file_problems := [])
            problems.extend(f"{shown}: {p}" for p in file_problems)
            if key in TOP_LEVEL_LISTS:
                if not isinstance(value, list):
                    problems.append(f"{shown}: {key}: must be a list")
                    continue
                for index, item in enumerate(value):
                    origin[key].append((shown, index))
                    merged[key].append(item)
            else:
                if key in scalar_origin:
                    problems.append(f"{shown}: {key}: already given in {scalar_origin[key]}")
                    continue
                scalar_origin[key] = shown
                merged[key] = value
    if "realm" not in merged and not problems:
        problems.append(f"{directories[0]}: realm: required (the realm's name)")
    catalog = None
    if catalog_document is not None:
        # Imported here: the catalog builds on this module's models.
        from bridge.catalog.load import parse

        try:
            catalog = parse(catalog_document[1], str(catalog_document[0]), env)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    try:
        config = RealmConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError([_locate(err, origin, scalar_origin) for err in exc.errors()]) from None
    if catalog is not None:
        from bridge.catalog.mapping import merge_into

        config = merge_into(config, catalog)
    problems = list(_duplicates(config))
    if problems:
        raise ConfigError(problems)
    return config, catalog


def _locate(error: Mapping[str, Any], origin: Mapping[str, list[tuple[Path, int]]],
            scalar_origin: Mapping[str, Path]) -> str:
    loc = list(error["loc"])
    top = str(loc[0]) if loc else ""
    if top in origin and len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(origin[top]):
        path, index = origin[top][loc[1]]
        loc[1] = index
    else:
        path = scalar_origin.get(top, Path("?"))
    key_path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{path}: {key_path}: {message}"


def _duplicates(config: RealmConfig) -> Iterable[str]:
    def dupes(kind: str, names: Iterable[str]) -> Iterable[str]:
        seen: set[str] = set()
        for name in names:
            if name in seen:
                yield f"{kind} {name!r} is declared twice"
            seen.add(name)

    yield from dupes("client", (c.clientId for c in config.clients))
    yield from dupes("realm role", (r.name for r in config.roles))
    yield from dupes("group", group_paths(config.groups))
    yield from dupes("flow", flow_aliases(config.flows))
    for client in config.clients:
        yield from dupes(f"role of client {client.clientId}", (r.name for r in client.roles))
        yield from dupes(f"mapper of client {client.clientId}",
                         (m.name for m in client.protocolMappers))


def group_paths(groups: Iterable[Group], parent: str = "") -> Iterable[str]:
    for group in groups:
        path = f"{parent}/{group.name}"
        yield path
        yield from group_paths(group.subGroups, path)


def flow_aliases(flows: Iterable[Flow]) -> Iterable[str]:
    """Top-level and sub-flow aliases: Keycloak requires them unique across the realm."""
    def walk(executions: Iterable[Execution]) -> Iterable[str]:
        for execution in executions:
            if execution.flow:
                yield execution.flow
                yield from walk(execution.executions)

    for flow in flows:
        yield flow.alias
        yield from walk(flow.executions)
