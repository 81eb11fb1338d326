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
from typing import Any

import yaml
from pydantic import ValidationError

from bridge.catalog.load import parse as parse_catalog
from bridge.catalog.model import Catalog
from bridge.configfiles import ConfigError, substitute
from bridge.realm.checks import kind_problems
from bridge.realm.from_catalog import merge_into
from bridge.realm.kinds.clients import BUILTIN_CLIENTS
from bridge.realm.kinds.identity_providers import literal_secrets

# The models, re-exported: callers read the configuration as ``desired.RealmConfig``...
from bridge.realm.model import (
    AuthenticatorConfig,
    Client,
    Execution,
    Flow,
    Group,
    ProtocolMapper,
    RealmConfig,
    Role,
    ServiceAccountRoles,
    Settings,
    UserProfile,
)

__all__ = [
    "AuthenticatorConfig", "Client", "ConfigError", "Execution", "Flow", "Group",
    "ProtocolMapper", "RealmConfig", "Role", "ServiceAccountRoles", "Settings", "UserProfile",
    "config_files", "flow_aliases", "group_paths", "load", "load_with_catalog", "substitute",
]

TOP_LEVEL_LISTS = ("roles", "clients", "groups", "flows", "defaultGroups", "requiredActions",
                   "keys", "components", "userFederation", "clientScopes", "identityProviders")
TOP_LEVEL_KEYS = ("realm", "settings", "userProfile", "defaultRoles", "otpPolicy",
                  "webAuthnPolicy", "webAuthnPasswordlessPolicy", "events", "localization",
                  *TOP_LEVEL_LISTS)
CATALOG_KEY = "catalog"  # a document of its own, validated by bridge.catalog


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
                      env: Mapping[str, str] | None = None
                      ) -> tuple[RealmConfig, Catalog | None]:
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
    variables: dict[str, str] = {}
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
            if key == "identityProviders":
                problems.extend(literal_secrets(value, str(shown)))
            variables.update(secret_variables(key, value))
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
        try:
            catalog = parse_catalog(catalog_document[1], str(catalog_document[0]), env)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    try:
        config = RealmConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError([_locate(err, origin, scalar_origin) for err in exc.errors()]) from None
    if catalog is not None:
        config = merge_into(config, catalog)
    config._origin = {k: [(str(p), i) for p, i in v] for k, v in origin.items()}
    config._scalar_origin = {k: str(p) for k, p in scalar_origin.items()}
    config._variables = variables
    problems = [*_duplicates(config), *_admin_permission_problems(config),
                *kind_problems(config, scalar_origin)]
    if problems:
        raise ConfigError(problems)
    return config, catalog


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Where a configuration writes secrets: per top-level list, the field naming the item and
# the fields (or ``config`` values, any of them) that hold a secret.
_SECRET_HOMES = {"clients": ("clientId", ("secret",)),
                 "identityProviders": ("alias", ("config",)),
                 "keys": ("name", ("config",)), "components": ("name", ("config",)),
                 "userFederation": ("name", ("config",))}
_KIND_OF = {"clients": "client", "identityProviders": "identity-provider",
            "keys": "key-provider", "components": "component",
            "userFederation": "user-federation"}


def _variable(value: Any) -> str | None:
    match = _REFERENCE.fullmatch(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def secret_variables(top: str, value: Any) -> dict[str, str]:
    """``${VAR}`` references that are a whole secret value, before substitution, by key
    path (``client:hr-system.secret``, ``identity-provider:entra.config.clientSecret``,
    ``settings.smtpServer.password``): what an export writes back under the same name."""
    found: dict[str, str] = {}
    if top == "settings" and isinstance(value, dict):
        smtp = value.get("smtpServer")
        if isinstance(smtp, dict) and (name := _variable(smtp.get("password"))):
            found["settings.smtpServer.password"] = name
    if top not in _SECRET_HOMES or not isinstance(value, list):
        return found
    naming, fields = _SECRET_HOMES[top]
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get(naming), str):
            continue
        prefix = f"{_KIND_OF[top]}:{item[naming]}"
        for field in fields:
            if field == "config" and isinstance(item.get("config"), dict):
                for key, text in item["config"].items():
                    if name := _variable(text):
                        found[f"{prefix}.config.{key}"] = name
            elif name := _variable(item.get(field)):
                found[f"{prefix}.{field}"] = name
        for mapper in item.get("mappers") or () if top == "userFederation" else ():
            if isinstance(mapper, dict) and isinstance(mapper.get("config"), dict):
                for key, text in mapper["config"].items():
                    if name := _variable(text):
                        found[f"user-federation-mapper:{item[naming]}/{mapper.get('name')}"
                              f".config.{key}"] = name
    return found


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
    yield from dupes("client scope", (s.name for s in config.clientScopes))
    yield from dupes("identity provider", (p.alias for p in config.identityProviders))
    for scope in config.clientScopes:
        yield from dupes(f"mapper of client scope {scope.name}",
                         (m.name for m in scope.protocolMappers))
    for idp in config.identityProviders:
        yield from dupes(f"mapper of identity provider {idp.alias}", (m.name for m in idp.mappers))
    for client in config.clients:
        yield from dupes(f"role of client {client.clientId}", (r.name for r in client.roles))
        yield from dupes(f"mapper of client {client.clientId}",
                         (m.name for m in client.protocolMappers))


def _admin_permission_problems(config: RealmConfig) -> Iterable[str]:
    """What Keycloak would refuse (or silently widen) halfway through an apply."""
    granted = [(c, p) for c in config.clients for p in c.serviceAccountPermissions]
    if granted and config.settings.adminPermissionsEnabled is not True:
        yield "serviceAccountPermissions need settings.adminPermissionsEnabled: true"
    known = {c.clientId for c in config.clients} | BUILTIN_CLIENTS
    seen: set[str] = set()
    for client, permission in granted:
        where = f"client {client.clientId}: admin permission {permission.name!r}"
        if permission.name in seen:
            yield f"{where} is declared twice"
        seen.add(permission.name)
        if client.serviceAccountsEnabled is not True:
            yield f"{where}: the client has no service account (serviceAccountsEnabled)"
        for resource in sorted(set(permission.resources) - known):
            yield f"{where}: resource {resource!r} is no client of the configuration"


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
