"""The architecture the README draws, checked on the source itself.

Only ``bridge/keycloak/`` speaks Keycloak's admin REST API: no other module of the product,
of the benchmarks or of the test support builds an admin path, or imports python-keycloak.
The import contracts between packages are import-linter's (``[tool.importlinter]`` in
pyproject.toml, run by ``./dev test``); this test covers what an import graph cannot see:
strings.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "bridge" / "keycloak"
SCANNED = [ROOT / "bridge", ROOT / "scim", ROOT / "bench", ROOT / "tests" / "support",
           ROOT / "tests" / "conftest.py"]

# The admin API's collections, as the word after a realm or another piece of a path
# (``/{realm}/users/...``, ``f"{base}/clients"``, ``base + "/clients"``). A path of the
# bridge's own API (``/users/<user_id>``) starts with its collection and is not one.
COLLECTIONS = (
    "users", "groups", "group-by-path", "roles", "roles-by-id", "clients", "client-scopes",
    "client-templates", "authentication", "partialImport", "partial-export", "components",
    "identity-provider", "organizations", "attack-detection", "default-default-client-scopes",
    "default-optional-client-scopes", "default-groups", "events", "admin-events",
    "localization", "keys", "sessions", "role-mappings", "protocol-mappers",
    "service-account-user", "execute-actions-email", "reset-password", "credentials",
)
_COLLECTION = "/(" + "|".join(map(re.escape, COLLECTIONS)) + r")(/|\?|\{|$)"
ADMIN_PATH = re.compile(
    r"admin/realms"              # a whole admin URL
    r"|^/\{\}$"                  # /{realm}
    r"|\{\}" + _COLLECTION)      # {base}/users
APPENDED_PATH = re.compile("^" + _COLLECTION)  # base + "/users"

# The ratio benchmark's baseline is Keycloak *without* the bridge: python-keycloak's own
# KeycloakAdmin and one raw ``GET /admin/realms/{r}/users``; the peer benchmark's raw side
# (and its set-up of Keycloak's own SCIM, which the gateway has no call for) is
# python-keycloak's KeycloakAdmin too. Those, and only those, stay.
BASELINE_PATHS = {("bench/scim_ratios.py", "{}/admin/realms/{}/users")}
BASELINE_IMPORTS = {"bench/scim_ratios.py", "bench/peer.py"}


def _python_files() -> Iterator[Path]:
    for place in SCANNED:
        files = [place] if place.is_file() else sorted(place.rglob("*.py"))
        yield from (f for f in files if GATEWAY not in f.parents)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _text(node: ast.AST) -> str | None:
    """A string literal's text, an f-string's with ``{}`` for each placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def admin_paths(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every string in ``source`` that spells an admin REST path."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    hits = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inner:
            continue
        text = _text(node)
        if text is not None and ADMIN_PATH.search(text):
            hits.append((node.lineno, text))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            appended = _text(node.right)
            if appended is not None and APPENDED_PATH.search(appended):
                hits.append((node.lineno, appended))
    return hits


def raw_client_imports(source: str) -> list[int]:
    """Lines importing python-keycloak (the ``keycloak`` package itself)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            lines += [node.lineno for a in node.names if a.name.split(".")[0] == "keycloak"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "keycloak":
                lines.append(node.lineno)
    return lines


def test_the_detector_sees_the_shapes_of_an_admin_path() -> None:
    spelled = [
        'gw.get(f"/{realm}/users/{uid}")', 'gw.put(f"{ctx.base}/roles/{name}", body)',
        'gw.delete(f"/{realm}")', 'requests.get(f"{url}/admin/realms/{r}/users")',
        'gw.get(base + "/clients", clientId="x")', 'p = f"{base}/role-mappings/realm"',
    ]
    assert all(admin_paths(line) for line in spelled)
    innocent = [
        'ROOT = f"/{PARENT}/{CATALOG}"', 'scim.get(f"/Users/{uid}")',
        'requests.get(f"{url}/realms/{r}/protocol/openid-connect/certs")',
        'def f():\n    """``GET /users/{id}``"""', 'group = "/bridge/scim"',
        '@bp.get("/users/<user_id>")\ndef f(): pass', 'paths = {"/users/{id}": {}}',
    ]
    assert not [line for line in innocent if admin_paths(line)]


def test_only_the_gateway_builds_admin_paths() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
             for path in _python_files()
             for line, text in admin_paths(path.read_text(encoding="utf-8"))
             if (str(path.relative_to(ROOT)), text) not in BASELINE_PATHS]
    assert found == []


def test_only_the_gateway_imports_python_keycloak() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}"
             for path in _python_files()
             for line in raw_client_imports(path.read_text(encoding="utf-8"))
             if str(path.relative_to(ROOT)) not in BASELINE_IMPORTS]
    assert found == []


# -- scim/ knows neither Keycloak nor the domain (issue 11) --------------------------------

SCIM = ROOT / "scim"
# What scim/ must never name, in code, comments or docs: the identity store, the
# application's modules and its extension, and the nouns of the access domain
# (docs/domain: user types, profiles, toggles, perimeters, the catalog, invitations).
# "tenant" stays: ``Subject.tenant`` and ``TenantScope`` are the protocol layer's hook for
# a SCIM client bound to one tenant (the caller, as RFC 7644 §2 leaves authorization to the
# service provider); which users a tenant holds is the rule the application registers. Nor
# is "urn:bridge:" itself banned: the limits extension of /ServiceProviderConfig is the
# server's own, published under that namespace.
DOMAIN_WORDS = re.compile(
    r"urn:bridge:scim:schemas:extension:access"
    r"|\bkeycloak\b|\bkc\b|\brealm-management\b"
    r"|\bbridge\.[a-z_]+"                     # a module of the application
    r"|\baccess[ _-]?(?:extension|tenancy|catalog|schema)"
    r"|\bcatalog|\bperimeters?\b|\btoggles?\b|\bprofiles?\b|\buser[ _]?types?\b"
    r"|\binvitations?\b|\btechnicians?\b|\bdossiers?\b|\bstaff\b",
    re.IGNORECASE)


def domain_words(text: str) -> list[tuple[int, str]]:
    return [(number, match.group())
            for number, line in enumerate(text.splitlines(), 1)
            for match in DOMAIN_WORDS.finditer(line)]


def test_the_domain_word_detector_sees_the_domain() -> None:
    named = ['ACCESS_SCHEMA = "urn:bridge:scim:schemas:extension:access:2.0:User"',
             "from bridge.provisioning import tenancy", "# the Keycloak-backed storage",
             "class AccessExtension(Extension):", "perimeter: list[Perimeter]",
             "profiles: list[str]", "user_type: str", "# the access catalog's job"]
    assert [line for line in named if not domain_words(line)] == []
    neutral = ["tenant: str | None = None", "class TenantScope(Protocol):",
               'LIMITS_SCHEMA = "urn:bridge:scim:schemas:extension:limits:2.0:X"',
               "# Microsoft Entra sends booleans as strings", "Access-Control-Allow-Origin"]
    assert [line for line in neutral if domain_words(line)] == []


def test_scim_names_neither_keycloak_nor_the_domain() -> None:
    files = sorted(p for p in SCIM.rglob("*") if p.is_file() and p.suffix in {".py", ".md"})
    assert files, "scim/ holds no file"
    found = [f"{path.relative_to(ROOT)}:{number}: {word}"
             for path in files
             for number, word in domain_words(path.read_text(encoding="utf-8"))]
    assert found == []
