"""The operator CLI as a script sees it: ``--version``, ``--output json``, table headers,
``user show`` with the rule granting each permission, exit codes telling a no-op (3) from a
change (0), a re-invitation that never drops a change silently, and static SCIM tokens.

The use-cases run over the in-memory directory (the integration suite runs the same
commands on Keycloak, README examples included)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bridge.auth import ScimPolicy, parse_static_tokens
from bridge.catalog.load import load
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment
from bridge.catalog.rules import RuleViolation, check_assignment, explain_permissions
from bridge.cli import cli, common
from bridge.invitations import AccessAdministration, Actor
from bridge.local.keycloak import KEYCLOAK_VERSION
from tests.unit.invitations_memory import MemoryDirectory

EXAMPLES = Path(__file__).resolve().parents[2] / "realm-config" / "examples"
SEED_004 = EXAMPLES / "004-accounting-portal"
OPERATOR = Actor.operator("cli:bridge")


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> MemoryDirectory:
    """Seed 004's use-cases over memory, as ``common.administration`` hands them out."""
    memory = MemoryDirectory()
    service = AccessAdministration(memory, load(SEED_004))
    monkeypatch.setattr(common, "administration", lambda _path: (service, OPERATOR))
    return memory


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _person(directory: MemoryDirectory, name: str, assignment: Assignment,
            **fields: Any) -> str:
    state = user_state(load(SEED_004), assignment)
    return directory.add(name, f"{name}@example.com", state.attribute_lists(),
                         set(state.groups), **fields)


INVITE = ("invite", "ana@example.com", "--status", "client-user", "--profile",
          "document-delivery", "--tenant", "dossier-acme")


def test_version_names_the_bridge_and_the_pinned_keycloak() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("bridge ") and f"(Keycloak {KEYCLOAK_VERSION})" in result.stdout


def test_help_documents_the_exit_codes() -> None:
    text = run("--help").stdout
    for line in ("0   done", "1   error or refusal", "2   changes pending",
                 "3   nothing to change", "64  usage error"):
        assert line in text


def test_usage_errors_exit_64_so_2_only_means_changes_pending(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "bridge", "user", "set"],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 64, done.stderr
    assert "Missing argument" in done.stderr


def test_invite_then_the_same_again_is_a_no_op_exit_3(directory: MemoryDirectory) -> None:
    first = run(*INVITE)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("invited: ana@example.com")
    again = run(*INVITE)
    assert again.exit_code == 3, again.output
    assert again.stdout.startswith("already-invited: ana@example.com")
    assert len(directory.sent) == 1


def test_reinvite_with_other_access_is_refused_and_changes_nothing(
        directory: MemoryDirectory) -> None:
    assert run(*INVITE).exit_code == 0
    (user_id, before), = directory.accounts.items()
    other = run("invite", "ana@example.com", "--status", "client-user", "--profile",
                "full-access", "--tenant", "dossier-bakery")
    assert other.exit_code == 1, other.output
    assert "already-invited: this e-mail already has a pending invitation with other " \
           "access (profiles: pending document-delivery, asked full-access; tenants: " \
           "pending dossier-acme, asked dossier-bakery)" in other.stderr
    assert "bridge user set" in other.stderr
    assert directory.accounts[user_id] == before and len(directory.sent) == 1


def test_invitations_list_has_a_header_and_json(directory: MemoryDirectory) -> None:
    assert run(*INVITE).exit_code == 0
    lines = run("invitations", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "EMAIL", "STATUS", "EXPIRES"]
    assert lines[1].split()[:4] == ["u1", "pending", "ana@example.com", "client-user"]
    document = json.loads(run("invitations", "list", "--output", "json").stdout)
    assert document["next"] is None
    (item,) = document["items"]
    assert (item["email"], item["state"], item["status"], item["profiles"],
            item["tenants"]) == ("ana@example.com", "pending", "client-user",
                                 ["document-delivery"], ["dossier-acme"])


def test_an_empty_list_still_has_its_header(directory: MemoryDirectory) -> None:
    assert run("invitations", "list").stdout.splitlines() == [
        "ID  STATE  EMAIL  STATUS  EXPIRES"]


def test_user_show_gives_the_facts_and_each_permission_with_its_rule(
        directory: MemoryDirectory) -> None:
    _person(directory, "tom", Assignment.of("external", "client-user", "full-access",
                                            tenants=["dossier-acme", "dossier-bakery"]),
            required_actions=("CONFIGURE_TOTP",))
    shown = run("user", "show", "tom@example.com", "--output", "json")
    assert shown.exit_code == 0, shown.output
    user = json.loads(shown.stdout)
    assert {k: user[k] for k in ("email", "enabled", "user_type", "status", "profiles",
                                 "toggles", "perimeter", "tenants", "required_actions")} == {
        "email": "tom@example.com", "enabled": True, "user_type": "external",
        "status": "client-user", "profiles": ["full-access"], "toggles": [],
        "perimeter": {}, "tenants": ["dossier-acme", "dossier-bakery"],
        "required_actions": ["CONFIGURE_TOTP"]}
    by_tenant = {a["tenant"]: a for a in user["access"]}
    acme = {p["permission"]: p["granted_by"] for p in by_tenant["dossier-acme"]["permissions"]}
    assert acme["payments.use"] == "profile 'full-access'"
    assert "financial.view" not in acme  # acme does not enable the Financial menu
    assert by_tenant["dossier-acme"]["withheld"] == ["financial.view"]
    assert by_tenant["dossier-bakery"]["withheld"] == ["financial.view", "payments.use"]

    text = run("user", "show", "tom@example.com").stdout
    assert "status:           client-user" in text
    assert "permissions in dossier-acme:" in text
    assert "payments.use        profile 'full-access'" in text
    assert "(not enabled by dossier-bakery: financial.view, payments.use)" in text


def test_explain_permissions_names_status_profile_and_toggle() -> None:
    crm = load(EXAMPLES / "002-crm-roles-toggles")
    toggle = next(t for t in crm.toggles if t.adds)
    status = next(s for s in crm.statuses if toggle.profiles is None
                  or set(s.profiles) & set(toggle.profiles))
    profile = next(p for p in status.profiles
                   if toggle.profiles is None or p in toggle.profiles)
    a = Assignment.of(status.user_type, status.name, profile, toggles=[toggle.name])
    check_assignment(crm, a)
    (access,) = explain_permissions(crm, a)
    granted = {g.permission: g.granted_by for g in access.grants}
    assert access.tenant is None
    for permission in crm.profile_by_name[profile].grants:
        if permission not in set().union(*(t.removes for t in crm.toggles
                                            if t.name == toggle.name)):
            assert granted[permission] in (f"profile {profile!r}", f"status {status.name!r}")
    for permission in set(toggle.adds) - set(crm.profile_by_name[profile].grants) \
            - set(status.grants):
        assert granted[permission] == f"toggle {toggle.name!r}"


def test_user_set_and_lifecycle_tell_a_no_op_from_a_change(
        directory: MemoryDirectory) -> None:
    user_id = _person(directory, "tom", Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-acme"]))
    same = run("user", "set", "tom@example.com", "--profile", "document-delivery")
    assert same.exit_code == 3, same.output
    assert same.stdout.startswith("unchanged: tom@example.com")
    assert directory.writes == []
    changed = run("user", "set", "tom@example.com", "--profile", "full-access")
    assert changed.exit_code == 0, changed.output
    assert changed.stdout.startswith("updated: tom@example.com")
    assert directory.accounts[user_id].attributes["profiles"] == ("full-access",)

    assert run("user", "reactivate", "tom@example.com").exit_code == 3
    assert run("user", "deactivate", "tom@example.com").exit_code == 0
    assert directory.accounts[user_id].enabled is False
    again = run("user", "deactivate", "tom@example.com")
    assert again.exit_code == 3 and again.stdout.startswith("unchanged:")
    assert run("user", "reactivate", "tom@example.com").exit_code == 0


def test_unknown_profile_lists_the_catalogs_profiles_or_says_there_are_none() -> None:
    accounting = load(SEED_004)
    with pytest.raises(RuleViolation) as known:
        check_assignment(accounting, Assignment.of("external", "client-user", "wizard",
                                                   tenants=["dossier-acme"]))
    assert "unknown profile 'wizard' (known: 'administrator', 'document-delivery'," \
        in known.value.message
    field_services = load(EXAMPLES / "000-field-services")
    with pytest.raises(RuleViolation) as none:
        check_assignment(field_services, Assignment.of(
            "external", "client", "wizard", perimeter={"project": ["p1"]}))
    assert none.value.message == ("unknown profile 'wizard' (known: none: the catalog has "
                                  "no profiles)")


def test_scim_token_create_prints_a_token_its_setting_accepts_bound_to_its_tenant() -> None:
    created = run("scim", "token", "create", "entra-acme", "--tenant", "dossier-acme",
                  "--catalog", str(SEED_004))
    assert created.exit_code == 0, created.output
    token_line, setting_line = created.stdout.splitlines()
    token = token_line.removeprefix("token: ")
    name, _, value = setting_line.partition("=")
    assert name == "BRIDGE_SCIM_STATIC_TOKENS"
    assert token not in value and len(token) >= 43 and "." not in token
    (static,) = parse_static_tokens(value)
    assert (static.name, static.tenant) == ("entra-acme", "dossier-acme")
    caller = ScimPolicy("bridge", parse_static_tokens(value)).static_caller(token)
    assert (caller.client_id, caller.tenant) == ("static:entra-acme", "dossier-acme")

    second = json.loads(run("scim", "token", "create", "okta", "--output", "json").stdout)
    assert second["tenant"] is None and second["entry"].startswith("okta=")
    assert second["token"] != token


def test_scim_token_create_refuses_a_tenant_the_catalog_lacks() -> None:
    refused = run("scim", "token", "create", "x", "--tenant", "dossier-nowhere",
                  "--catalog", str(SEED_004))
    assert refused.exit_code != 0
    assert "has no tenant 'dossier-nowhere' (known: dossier-acme, dossier-bakery, " \
           "dossier-carpentry)" in refused.stderr
    assert "token:" not in refused.stdout


def test_keycloak_status_in_json_names_the_log_and_exits_3_when_not_running(
        tmp_path: Path) -> None:
    from bridge.local.keycloak import free_port

    result = CliRunner().invoke(cli, ["keycloak", "status", "--output", "json"], env={
        "BRIDGE_CACHE_DIR": str(tmp_path), "BRIDGE_KEYCLOAK_PORT": str(free_port()),
        "BRIDGE_KEYCLOAK_MANAGEMENT_PORT": str(free_port())})
    assert result.exit_code == 3, result.output
    status = json.loads(result.stdout)
    assert (status["running"], status["ready"], status["pid"]) == (False, False, None)
    assert status["log"] == str(tmp_path / "instances" / "dev" / "keycloak.log")
