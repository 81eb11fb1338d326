"""Each seed product's catalog, applied on top of realm-config/ to a real Keycloak."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import ROOT as CATALOG_ROOT
from tests.conftest import REALM_CONFIG, RealmUnderTest

REPLACED_MAPPER = "portal/portal roles"
# The seed products' catalogs, each applied on top of realm-config/ (production/ and
# company-idp/ are whole realms of their own: tests/integration/test_production_example.py).
EXAMPLES = sorted(p for p in (REALM_CONFIG / "examples").iterdir()
                  if p.is_dir() and p.name[:3].isdigit())


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_applies_and_then_plans_no_change(fresh_realm: RealmUnderTest,
                                                  example: Path) -> None:
    dirs = [REALM_CONFIG, example]
    plan = fresh_realm.plan(dirs)
    kinds = {c.kind for c in plan.changes}
    assert {"client-role", "group", "mapper"} <= kinds
    # Everything is created, but for the portal's client-role mapper of `roles`, which the
    # catalog's `roles` (= permissions) replaces: the groups' union of roles is never shown;
    # and a catalog with a tenancy turns the realm's organizations on (its tenants).
    tenancy = load_catalog(example).tenancy is not None
    assert {(c.kind, c.key) for c in plan.changes if c.action != "create"} == {
        ("mapper", REPLACED_MAPPER), *([("realm", "settings")] if tenancy else [])}
    if tenancy:
        seeds = sorted(c.key for c in plan.changes if c.kind == "tenant")
        assert seeds == sorted(t.name for t in load_catalog(example).tenancy.tenants)
    assert [c.action for c in plan.changes if c.key == REPLACED_MAPPER] == ["delete"]
    fresh_realm.apply(dirs)
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "realm", "plan", *map(str, dirs), "--realm",
         fresh_realm.name], capture_output=True, text=True, env=fresh_realm.cli_env(),
        timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout
    catalog_group = fresh_realm.admin.get(
        f"/{fresh_realm.name}/group-by-path/{CATALOG_ROOT.lstrip('/')}")
    assert catalog_group["subGroupCount"] >= 1


def test_removing_the_catalog_prunes_what_it_created(fresh_realm: RealmUnderTest) -> None:
    example = REALM_CONFIG / "examples" / "003-childcare-technician"
    fresh_realm.apply([REALM_CONFIG, example])
    plan = fresh_realm.plan()
    deletes = {(c.kind, c.key) for c in plan.changes if c.action == "delete"}
    assert ("group", CATALOG_ROOT) in deletes
    # Everything the catalog created goes; the portal's own `roles` mapper comes back.
    assert {(c.kind, c.key) for c in plan.changes if c.action != "delete"} == {
        ("mapper", REPLACED_MAPPER)}
    fresh_realm.apply()
    assert fresh_realm.plan().empty
