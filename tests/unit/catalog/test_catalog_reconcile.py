"""``bridge catalog reconcile`` over the in-memory directory: users follow an edited catalog."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.catalog.mapping import (
    CONFIGURE_TOTP,
    PERIMETER_REF,
    PERMISSIONS,
    ROOT,
    group_path,
    overflow_attribute,
    perimeter_attribute,
    user_state,
)
from bridge.catalog.model import Assignment, Catalog
from bridge.invitations import Actor
from bridge.reconcile import CatalogReconciler, Report, reconcile
from tests.support.logs import audit_events
from tests.unit.invitations_memory import MemoryDirectory

OPERATOR = Actor.operator("test")
ROOT_DIR = Path(__file__).resolve().parents[3]
REALM_CONFIG = ROOT_DIR / "realm-config"


def _add(directory: MemoryDirectory, catalog: Catalog, name: str, assignment: Assignment,
         **extra: list[str]) -> str:
    """A user as a write path leaves it: user_state's attributes and groups (plus others)."""
    state = user_state(catalog, assignment)
    return directory.add(name, f"{name}@example.com", {**state.attribute_lists(), **extra},
                         set(state.groups), required_actions=tuple(sorted(
                             state.required_actions)))


def _without_grant(catalog: Catalog, profile: str, permission: str) -> Catalog:
    profiles = tuple(p.model_copy(update={"grants": tuple(g for g in p.grants if g != permission)})
                     if p.name == profile else p for p in catalog.profiles)
    return catalog.model_copy(update={"profiles": profiles})


def _run(directory: MemoryDirectory, catalog: Catalog, **kwargs: Any) -> Report:
    return reconcile(directory, catalog, OPERATOR, **kwargs)


# -- the catalog changed; the users follow --------------------------------------------------

def test_a_profile_losing_a_permission_drops_it_from_the_users_permissions(
        seed: Callable[[str], Catalog]) -> None:
    before = seed("002")
    directory = MemoryDirectory()
    user = _add(directory, before, "una", Assignment.of("internal", "staff", "user"))
    manager = _add(directory, before, "mona", Assignment.of("internal", "staff", "manager"))
    assert "payments.view" in directory.accounts[user].attributes[PERMISSIONS]

    after = _without_grant(before, "user", "payments.view")
    report = _run(directory, after)

    assert "payments.view" not in directory.accounts[user].attributes[PERMISSIONS]
    assert "payments.view" in directory.accounts[manager].attributes[PERMISSIONS]
    assert directory.writes == [("update", user)]  # groups unchanged: no set_groups
    assert (report.checked, report.changed, report.violating) == (2, 1, 0)
    assert report.lines() == ["una: permissions -payments.view",
                              "2 users checked, 1 changed, 0 violating"]


def test_an_unchanged_catalog_writes_nothing(seed: Callable[[str], Catalog]) -> None:
    for name in ("000", "002", "003", "004"):
        catalog = seed(name)
        directory = MemoryDirectory()
        status = catalog.statuses[0]
        profiles = status.profiles[:1]
        tenants = [t.name for t in catalog.tenancy.tenants[:2]] if catalog.tenancy else []
        _add(directory, catalog, "ann", Assignment.of(status.user_type, status.name, profiles,
                                                      tenants=tenants))
        report = _run(directory, catalog)
        assert (report.checked, report.changed, report.violating) == (1, 0, 0), name
        assert directory.writes == [], name
        assert report.lines() == ["1 users checked, 0 changed, 0 violating"]


def test_dry_run_reports_the_same_changes_and_writes_nothing(
        seed: Callable[[str], Catalog]) -> None:
    before = seed("002")
    directory = MemoryDirectory()
    _add(directory, before, "una", Assignment.of("internal", "staff", "user"))
    _add(directory, before, "tom", Assignment.of("internal", "staff", "user",
                                                 toggles=["no-documents"]))
    after = _without_grant(before, "user", "payments.view")
    after = after.model_copy(update={"toggles": tuple(
        t for t in after.toggles if t.name != "no-documents")})
    snapshot = (dict(directory.accounts), {k: set(v) for k, v in directory.groups.items()})

    report = _run(directory, after, dry_run=True)

    assert directory.writes == []
    assert (dict(directory.accounts), directory.groups) == snapshot
    assert (report.changed, report.violating) == (2, 1)
    assert report.summary() == "2 users checked, 2 would change, 1 violating"
    assert "access would be removed" in report.lines()[0]
    real = _run(directory, after)
    assert [r.differences for r in real.results] == [r.differences for r in report.results]


def test_a_removed_toggle_is_a_violation_and_access_is_removed(
        seed: Callable[[str], Catalog], caplog: pytest.LogCaptureFixture) -> None:
    before = seed("002")
    directory = MemoryDirectory()
    # A removal toggle: recomputing without it would *grant* documents.view, so the user is
    # not silently repaired.
    tom = _add(directory, before, "tom", Assignment.of("internal", "staff", "user",
                                                       toggles=["no-documents"]),
               locale=["fr"])
    after = before.model_copy(update={"toggles": tuple(
        t for t in before.toggles if t.name != "no-documents")})

    with caplog.at_level(logging.INFO, logger="bridge.audit"):
        report = _run(directory, after)

    account = directory.accounts[tom]
    assert PERMISSIONS not in account.attributes
    assert directory.groups[tom] == set()
    # The facts stay, for an operator to correct; other attributes are never touched.
    assert account.attributes["toggles"] == ("no-documents",)
    assert account.attributes["profiles"] == ("user",)
    assert account.attributes["locale"] == ("fr",)
    assert report.violating == 1 and report.changed == 1
    line = report.lines()[0]
    assert line.startswith("tom: violates unknown.toggle: access removed: permissions -")
    assert "groups -profile/user -status/staff -toggle/no-documents" in line
    audit = audit_events(caplog.records)
    assert len(audit) == 1
    assert audit[0]["action"] == "catalog.reconcile"
    assert (audit[0]["outcome"], audit[0]["result"]) == ("ok", "access-removed")
    assert audit[0]["code"] == audit[0]["rule"] == "unknown.toggle"
    assert audit[0]["target"] == {"id": tom, "email": "tom@example.com"}
    assert audit[0]["actor"] == "operator:test"

    again = _run(directory, after)
    assert (again.changed, again.violating) == (0, 1)
    assert again.lines()[0].startswith("tom: violates unknown.toggle: no access left to remove")
    assert directory.writes == [("update", tom), ("set_groups", tom)]


def test_a_removed_profile_is_a_violation_and_access_is_removed(
        seed: Callable[[str], Catalog]) -> None:
    before = seed("002")
    directory = MemoryDirectory()
    mona = _add(directory, before, "mona", Assignment.of("internal", "staff", "manager"))
    una = _add(directory, before, "una", Assignment.of("internal", "staff", "user"))
    status = before.statuses[0]
    after = before.model_copy(update={
        "profiles": tuple(p for p in before.profiles if p.name != "manager"),
        "statuses": (status.model_copy(update={"profiles": tuple(
            p for p in status.profiles if p != "manager")}),)})

    report = _run(directory, after)

    assert PERMISSIONS not in directory.accounts[mona].attributes
    assert directory.groups[mona] == set()
    assert directory.accounts[una].attributes[PERMISSIONS]  # untouched
    assert [(r.username, r.rule) for r in report.results] == [("mona", "unknown.profile")]


def test_a_rule_the_catalog_now_has_is_a_violation(seed: Callable[[str], Catalog]) -> None:
    before = seed("000")
    directory = MemoryDirectory()
    cid = _add(directory, before, "cli", Assignment.of("external", "client", toggles=[
        "no-report-download"], perimeter={"project": ["p1"]}))
    client = before.status_by_name["client"]
    after = before.model_copy(update={"statuses": tuple(
        s.model_copy(update={"forbids": (*client.forbids, "reports.read")})
        if s.name == "client" else s for s in before.statuses)})

    report = _run(directory, after)

    assert [r.rule for r in report.results] == ["status.forbidden-permission"]
    assert PERMISSIONS not in directory.accounts[cid].attributes
    # The perimeter is a fact: it stays (it grants nothing without permissions).
    assert directory.accounts[cid].attributes[perimeter_attribute("project")] == ("p1",)


def test_a_removed_dimension_is_a_violation(seed: Callable[[str], Catalog]) -> None:
    before = seed("000")
    directory = MemoryDirectory()
    cid = _add(directory, before, "cli", Assignment.of("external", "client",
                                                       perimeter={"team": ["t1"]}))
    after = before.model_copy(update={
        "dimensions": tuple(d for d in before.dimensions if d.name != "team"),
        "statuses": tuple(s.model_copy(update={"dimensions": tuple(
            d for d in s.dimensions if d != "team") if s.dimensions else s.dimensions})
            for s in before.statuses)})

    report = _run(directory, after)

    assert [r.rule for r in report.results] == ["unknown.dimension"]
    assert PERMISSIONS not in directory.accounts[cid].attributes


def test_lower_tenant_caps_requalify_permissions(seed: Callable[[str], Catalog]) -> None:
    before = seed("004")
    directory = MemoryDirectory()
    tenants = sorted(before.tenant_by_name)[:2]
    uid = _add(directory, before, "fay", Assignment.of("external", "client-user",
                                                       "full-access", tenants=tenants))
    stored = set(directory.accounts[uid].attributes[PERMISSIONS])
    assert before.tenancy is not None
    capped = before.tenancy.model_copy(update={"tenants": tuple(
        t.model_copy(update={"enables": ()}) for t in before.tenancy.tenants)})
    after = before.model_copy(update={"tenancy": capped})
    expected = set(user_state(after, Assignment.of(
        "external", "client-user", "full-access", tenants=tenants)).attributes[PERMISSIONS])
    assert expected < stored

    report = _run(directory, after)

    assert set(directory.accounts[uid].attributes[PERMISSIONS]) == expected
    assert report.results[0].differences[0].removed == tuple(sorted(stored - expected))


def test_mfa_now_required_adds_otp_set_up_and_keeps_other_actions(
        seed: Callable[[str], Catalog]) -> None:
    before = seed("002")
    directory = MemoryDirectory()
    uid = _add(directory, before, "una", Assignment.of("internal", "staff", "user"))
    directory.accounts[uid] = replace(directory.accounts[uid],
                                      required_actions=("UPDATE_PASSWORD",))
    after = before.model_copy(update={"profiles": tuple(
        p.model_copy(update={"mfa": True}) if p.name == "user" else p
        for p in before.profiles)})

    report = _run(directory, after)

    assert directory.accounts[uid].required_actions == ("UPDATE_PASSWORD", CONFIGURE_TOTP)
    assert report.lines()[0] == f"una: required actions +{CONFIGURE_TOTP}"
    # Back to no MFA: the OTP set-up is never dropped (the user may be midway through it).
    assert _run(directory, before).changed == 0


def test_a_lower_perimeter_budget_moves_the_perimeter_behind_a_reference(
        seed: Callable[[str], Catalog]) -> None:
    before = seed("000")
    directory = MemoryDirectory()
    projects = [f"p{i}" for i in range(20)]
    uid = _add(directory, before, "cli", Assignment.of("external", "client",
                                                       perimeter={"project": projects}))
    after = before.model_copy(update={"perimeter_budget": 10})

    report = _run(directory, after)

    attributes = directory.accounts[uid].attributes
    assert perimeter_attribute("project") not in attributes
    assert attributes[overflow_attribute("project")] == tuple(sorted(projects))
    assert attributes[PERIMETER_REF][0].startswith("sha256:")
    line = report.lines()[0]
    assert "(+15 more)" in line and "(-15 more)" in line  # long lists are shortened


def test_drifted_groups_are_put_back_and_other_groups_kept(
        seed: Callable[[str], Catalog]) -> None:
    catalog = seed("002")
    directory = MemoryDirectory()
    uid = _add(directory, catalog, "una", Assignment.of("internal", "staff", "user"))
    directory.groups[uid] = {"/bridge/scim/team-a", group_path("profile", "manager")}

    report = _run(directory, catalog)

    assert directory.groups[uid] == {"/bridge/scim/team-a", group_path("status", "staff"),
                                     group_path("profile", "user")}
    assert directory.writes == [("set_groups", uid)]
    assert report.lines()[0] == "una: groups -profile/manager +profile/user +status/staff"


def test_users_without_catalog_facts_are_never_touched(seed: Callable[[str], Catalog]) -> None:
    catalog = seed("002")
    directory = MemoryDirectory()
    directory.add("plain", "plain@example.com", {"permissions": ["hand-made"]},
                  {f"{ROOT}/status/staff"})
    report = _run(directory, catalog)
    assert report.checked == 0 and directory.writes == []


def test_pages_are_bounded_and_every_user_is_checked(seed: Callable[[str], Catalog]) -> None:
    before = seed("000")
    directory = MemoryDirectory()
    admins = [_add(directory, before, f"user{i:02d}", Assignment.of("internal",
                                                                   "administrator"))
              for i in (0, 2, 3, 4, 5, 6, 7)]
    # A client with a stray second user_type value, found by the "internal" search first:
    # its rewrite takes it out of that search mid-pass, and the offsets must not then skip
    # the account after it.
    stray = _add(directory, before, "user01", Assignment.of("external", "client",
                                                           perimeter={"project": ["p1"]}))
    directory.accounts[stray] = replace(directory.accounts[stray], attributes={
        **directory.accounts[stray].attributes, "user_type": ("external", "internal")})
    after = before.model_copy(update={"statuses": tuple(
        s.model_copy(update={"grants": tuple(g for g in s.grants if g != "badge-settings.write")})
        if s.name == "administrator" else s for s in before.statuses)})

    report = CatalogReconciler(directory, after, page_size=2).run(OPERATOR)

    assert report.checked == 8 and report.complete and report.violating == 0
    assert [r.username for r in report.results] == [f"user{i:02d}" for i in range(8)]
    assert directory.accounts[stray].attributes["user_type"] == ("external",)
    assert all("badge-settings.write" not in directory.accounts[i].attributes[PERMISSIONS]
               for i in admins)


def test_a_user_deleted_during_the_pass_is_skipped(seed: Callable[[str], Catalog]) -> None:
    catalog = seed("002")
    directory = MemoryDirectory()
    uid = _add(directory, catalog, "una", Assignment.of("internal", "staff", "user"))
    original = directory.groups_under

    def vanish(user_id: str, root: str) -> frozenset[str]:
        directory.accounts.pop(user_id, None)
        return original(user_id, root)

    directory.groups_under = vanish  # type: ignore[method-assign]
    report = _run(directory, _without_grant(catalog, "user", "payments.view"))
    assert report.checked == 0 and directory.writes == []
    assert uid not in directory.accounts


# -- the command ----------------------------------------------------------------------------

def _cli(monkeypatch: pytest.MonkeyPatch, directory: MemoryDirectory, *args: str) -> Any:
    import bridge.cli as cli_module
    from bridge.cli import common

    monkeypatch.setattr(common, "admin", lambda: None)
    monkeypatch.setattr(common, "catalog_directory", lambda _gw, _realm: directory)
    env = {"KEYCLOAK_ADMIN_USERNAME": "root", "KEYCLOAK_ADMIN_PASSWORD": "x",
           "BRIDGE_CLIENT_SECRET": "s", "HR_SCIM_CLIENT_SECRET": "s", "SMTP_HOST": "h",
           "SMTP_PORT": "25", "SMTP_FROM": "a@b.c", "PORTAL_URL": "http://127.0.0.1:3000"}
    return CliRunner().invoke(cli_module.cli, ["catalog", "reconcile", *args], env=env)


def _edited_seed(tmp_path: Path) -> Path:
    source = REALM_CONFIG / "examples" / "002-crm-roles-toggles" / "catalog.yaml"
    text = source.read_text(encoding="utf-8")
    # Profile "user": the first grants line is the one with payments.view.
    edited = text.replace("clients.contact.view, payments.view,\n               documents.view]",
                          "clients.contact.view,\n               documents.view]", 1)
    assert edited != text
    (tmp_path / "catalog.yaml").write_text(edited, encoding="utf-8")
    return tmp_path


def test_the_command_dry_run_exits_2_then_applies_then_exits_0(
        seed: Callable[[str], Catalog], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = MemoryDirectory()
    uid = _add(directory, seed("002"), "una", Assignment.of("internal", "staff", "user"))
    edited = _edited_seed(tmp_path)

    dirs = (str(REALM_CONFIG), str(edited))
    dry = _cli(monkeypatch, directory, *dirs, "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert dry.stdout.splitlines() == ["una: permissions -payments.view",
                                       "1 users checked, 1 would change, 0 violating"]
    # Progress per page goes to stderr, so stdout stays the result.
    assert "reconcile: internal users, page 1 of ~1: 1 checked, 1 to report" \
        in dry.stderr.splitlines()
    assert directory.writes == []

    applied = _cli(monkeypatch, directory, *dirs)
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-1] == "1 users checked, 1 changed, 0 violating"
    assert "payments.view" not in directory.accounts[uid].attributes[PERMISSIONS]

    again = _cli(monkeypatch, directory, *dirs, "--dry-run")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == ["1 users checked, 0 would change, 0 violating"]


def test_the_command_without_a_catalog_is_one_line_and_exit_1(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = _cli(monkeypatch, MemoryDirectory(), str(REALM_CONFIG))
    assert result.exit_code == 1
    assert "no access catalog" in result.output
    assert "Traceback" not in result.output


# -- replicas: the reconcile's writes take the same user lock as SCIM and the API ----------

def test_reconcile_writes_take_the_users_lock(seed: Callable[[str], Catalog]) -> None:
    """A reconcile pass and a SCIM or API write of the same user (on any replica) never
    interleave their read-modify-write: while another writer holds the user's lock, the
    reconcile waits for it (here: times out and reports the user), and writes once free."""
    import threading

    from bridge.locks import LocalLocks, user_key

    before = seed("002")
    directory = MemoryDirectory()
    user = _add(directory, before, "una", Assignment.of("internal", "staff", "user"))
    after = _without_grant(before, "user", "payments.view")
    locks = LocalLocks(timeout=0.2)
    held, release = threading.Event(), threading.Event()

    def scim_write_in_progress() -> None:
        with locks.hold(user_key("access", user)):
            held.set()
            release.wait(5)

    writer = threading.Thread(target=scim_write_in_progress)
    writer.start()
    held.wait(5)
    try:
        busy = CatalogReconciler(directory, after, locks=locks, lock_scope="access").run(
            OPERATOR)
    finally:
        release.set()
        writer.join()
    assert "payments.view" in directory.accounts[user].attributes[PERMISSIONS]
    assert directory.writes == []
    assert (busy.busy, busy.complete) == (("una",), False)
    assert busy.summary() == ("0 users checked, 0 changed, 0 violating "
                              "(1 busy, left for the next run: una)")
    done = CatalogReconciler(directory, after, locks=locks, lock_scope="access").run(OPERATOR)
    assert (done.changed, done.busy, done.complete) == (1, (), True)
    assert "payments.view" not in directory.accounts[user].attributes[PERMISSIONS]
