"""Loading catalogs: every example loads; every problem is named by file and key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.catalog.load import load, parse
from bridge.realm.desired import ConfigError
from tests.unit.catalog.conftest import EXAMPLES, SEEDS


def _minimal(**extra: Any) -> dict[str, Any]:
    body = {"name": "t",
            "permissions": [{"name": "a.read"}, {"name": "a.write"}],
            "statuses": [{"name": "client", "user_type": "external", "profiles": ["viewer"]}],
            "profiles": [{"name": "viewer", "rank": 1, "grants": ["a.read"]}]}
    body.update(extra)
    return {"catalog": body}


def _problems(document: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(document, "cat.yaml", {})
    return caught.value.problems


@pytest.mark.parametrize("name", SEEDS)
def test_every_example_loads(name: str) -> None:
    catalog = load(EXAMPLES / name, {})
    assert catalog.statuses
    assert catalog.client == "portal"


def test_the_five_seeds_are_there() -> None:
    # And the production example's own catalog (a whole realm, not a seed).
    assert sorted(p.name for p in EXAMPLES.iterdir() if (p / "catalog.yaml").exists()) \
        == [*SEEDS, "production"]


def test_minimal_catalog_loads() -> None:
    catalog = parse(_minimal(), "cat.yaml", {})
    assert catalog.profile_by_name["viewer"].grants == ("a.read",)
    assert catalog.profiles_per_user == 1


def test_top_level_key_is_required() -> None:
    assert _problems({"statuses": []}) == ["cat.yaml: catalog: required (the top-level key)"]


def test_unknown_key_is_reported_with_its_path() -> None:
    document = _minimal()
    document["catalog"]["profiles"][0]["grant"] = ["a.read"]
    assert _problems(document) == ["cat.yaml: catalog.profiles[0].grant: unknown key"]


def test_wrong_type_and_missing_field_are_reported_with_their_path() -> None:
    document = _minimal()
    document["catalog"]["profiles"][0]["rank"] = "high"
    del document["catalog"]["statuses"][0]["user_type"]
    assert _problems(document) == [
        "cat.yaml: catalog.statuses[0].user_type: Field required",
        "cat.yaml: catalog.profiles[0].rank: Input should be a valid integer, unable to "
        "parse string as an integer",
    ]


def test_cross_references_are_all_reported() -> None:
    document = _minimal(
        toggles=[{"name": "x", "adds": ["a.delete"], "profiles": ["editor"]}],
        dimensions=[{"name": "site", "parent": "region"}],
        delegation=[{"name": "d", "actor": {"profiles": ["boss"]},
                     "may_assign": {"statuses": ["client", "ghost"]}}])
    document["catalog"]["statuses"][0]["profiles"] = ["viewer", "editor"]
    document["catalog"]["profiles"][0]["grants"] = ["a.read", "b.read"]
    assert _problems(document) == [
        "cat.yaml: catalog.statuses[0].profiles[1]: unknown profile 'editor'",
        "cat.yaml: catalog.profiles[0].grants[1]: unknown permission 'b.read'",
        "cat.yaml: catalog.toggles[0].adds[0]: unknown permission 'a.delete'",
        "cat.yaml: catalog.toggles[0].profiles[0]: unknown profile 'editor'",
        "cat.yaml: catalog.dimensions[0].parent: unknown dimension 'region'",
        "cat.yaml: catalog.delegation[0].actor.profiles[0]: unknown profile 'boss'",
        "cat.yaml: catalog.delegation[0].may_assign.statuses[1]: unknown status 'ghost'",
    ]


def test_duplicates_are_reported() -> None:
    document = _minimal()
    document["catalog"]["permissions"].append({"name": "a.read"})
    assert _problems(document) == [
        "cat.yaml: catalog.permissions[2].name: permission 'a.read' is declared twice"]


def test_a_status_may_not_list_a_profile_granting_what_it_forbids() -> None:
    document = _minimal()
    document["catalog"]["statuses"][0]["forbids"] = ["a.read"]
    assert _problems(document) == [
        "cat.yaml: catalog.statuses[0].profiles: profile 'viewer' grants 'a.read', which "
        "status 'client' forbids"]


def test_dimension_cycles_and_malformed_values_are_refused() -> None:
    cyclic = _minimal(dimensions=[{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}])
    assert _problems(cyclic) == [
        "cat.yaml: catalog.dimensions[0].parent: dimension 'a' is its own ancestor",
        "cat.yaml: catalog.dimensions[1].parent: dimension 'b' is its own ancestor"]
    flat = _minimal(dimensions=[{"name": "project"},
                                {"name": "position", "parent": "project",
                                 "values": ["p1/gate-1", "gate-2"]}])
    assert _problems(flat) == [
        "cat.yaml: catalog.dimensions[1].values[1]: entry 'gate-2' of dimension 'position' "
        "must be written <project>/<position>"]


def test_unknown_user_type_and_tenancy_without_tenants_reference() -> None:
    document = _minimal(tenancy={"baseline": ["a.read", "nope"],
                                 "tenants": [{"name": "t1", "enables": ["a.write"]}]})
    document["catalog"]["statuses"][0]["user_type"] = "partner"
    assert _problems(document) == [
        "cat.yaml: catalog.statuses[0].user_type: unknown user type 'partner'",
        "cat.yaml: catalog.tenancy.baseline[1]: unknown permission 'nope'",
    ]


def test_invalid_yaml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("catalog: [\n")
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, {})
    assert caught.value.problems == [
        f"{bad}: line 2 invalid YAML: expected the node content, but found '<stream end>'"]
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.yaml", {})


def test_environment_variables_are_substituted(tmp_path: Path) -> None:
    document = _minimal()
    document["catalog"]["client"] = "${PORTAL_CLIENT}"
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load(path, {"PORTAL_CLIENT": "shop"}).client == "shop"
    with pytest.raises(ConfigError) as caught:
        load(path, {})
    assert caught.value.problems == [
        f"{path}: catalog.client: environment variable PORTAL_CLIENT is not set"]


def test_tenant_manager_rules_name_known_things_and_known_operations() -> None:
    managers = [
        {"name": "m", "actor": {"statuses": ["nobody"]}, "may": ["set-caps"]},
        {"name": "m", "actor": {}, "may": ["add"], "own_tenants_only": True},
    ]
    problems = _problems(_minimal(tenancy={"managers": managers}))
    assert "cat.yaml: catalog.tenancy.managers[0].actor.statuses[0]: unknown status " \
           "'nobody'" in problems
    assert any("managers[1].actor: names nobody" in p for p in problems)
    assert any("managers[1].may: 'add' with own_tenants_only" in p for p in problems)
    assert any("managers[1].name: tenancy.managers rule 'm' is declared twice" in p
               for p in problems)
    unknown = _problems(_minimal(tenancy={"managers": [
        {"name": "m", "actor": {"statuses": ["client"]}, "may": ["undelete"]}]}))
    assert any("managers[0].may[0]" in p for p in unknown), unknown
