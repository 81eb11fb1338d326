"""``bridge dev`` builds the server's Settings and passes them to ``create_app``: it never
rewrites ``os.environ`` to configure it (settings come from one place)."""

from __future__ import annotations

import ast
import hashlib
import inspect
import os
from pathlib import Path

from bridge.config import Settings
from bridge.local import devstack


def test_the_dev_stack_never_writes_the_environment() -> None:
    tree = ast.parse(inspect.getsource(devstack))
    assert [node.lineno for node in ast.walk(tree) if _writes_environ(node)] == []


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _writes_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return (node.func.attr in ("update", "setdefault", "pop", "clear", "__setitem__")
                and _is_environ(node.func.value))
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets)
    return False


def test_dev_settings_carry_the_stack_and_the_environment(tmp_path: Path) -> None:
    before = dict(os.environ)
    env = {"BRIDGE_CLIENT_SECRET": "s3cret", "BRIDGE_JWKS_MAX_AGE": "60",
           "BRIDGE_TOKEN_ISSUERS": "http://localhost:8080/realms/access"}
    settings = devstack.dev_settings(env, keycloak_url="http://127.0.0.1:8080",
                                     realm="access", catalog_dir=tmp_path, dev_token="tok")
    assert isinstance(settings, Settings)
    assert (settings.keycloak_url, settings.realm, settings.client_secret) == (
        "http://127.0.0.1:8080", "access", "s3cret")
    assert settings.catalog_path == str(tmp_path)
    # The server only ever sees the digest of the static token.
    assert settings.scim_static_tokens == f"dev={hashlib.sha256(b'tok').hexdigest()}"
    assert settings.jwks_max_age == 60.0
    assert settings.token_issuers == ("http://localhost:8080/realms/access",)
    assert devstack.dev_settings(env, keycloak_url="http://k", realm="r", catalog_dir=None,
                                 dev_token="tok").catalog_path is None
    assert dict(os.environ) == before


def test_the_dev_stack_applies_and_serves_seed_004_unless_told_otherwise() -> None:
    """``./dev up`` shows the product with a catalog: the one its realm is built from."""
    assert devstack.dev_catalog_dir({}) == devstack.DEFAULT_CATALOG
    assert devstack.DEFAULT_CATALOG == Path("realm-config/examples/004-accounting-portal")
    root = Path(__file__).resolve().parents[2]
    assert (root / devstack.DEFAULT_CATALOG / "catalog.yaml").is_file()
    other = root / "realm-config" / "examples" / "003-childcare-technician"
    assert devstack.dev_catalog_dir({"BRIDGE_CATALOG": str(other)}) == other
    assert devstack.dev_catalog_dir({"BRIDGE_CATALOG": str(other / "catalog.yaml")}) == other
    # The realm applied and the catalog served come from that one directory.
    env = {"BRIDGE_CLIENT_SECRET": "s", "HR_SCIM_CLIENT_SECRET": "s", "SMTP_HOST": "h",
           "SMTP_PORT": "25", "SMTP_FROM": "a@b.test"}
    config, the_catalog, catalog_dir = devstack.load_dev_realm(env, root / "realm-config")
    assert catalog_dir == devstack.DEFAULT_CATALOG
    assert the_catalog is not None and the_catalog.name == "accounting-portal"
    assert {t.alias for t in config._seed_tenants} == {
        "dossier-acme", "dossier-bakery", "dossier-carpentry"}  # seed 004's, in the realm
    source = inspect.getsource(devstack.run)
    assert "load_dev_realm(env, config_dir)" in source
    assert "catalog_dir=catalog_dir" in source
