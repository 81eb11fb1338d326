"""An edited catalog reaches existing users' tokens after one ``bridge realm apply``.

Real Keycloak, real logins: a user is invited through the use-case and activates through
the mailed link; the catalog is copied and edited; before the reconcile the user's next
token still carries what the old catalog granted (the access bug), after ``realm apply``
(which now reconciles) it no longer does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from bridge.catalog.load import load as load_catalog
from bridge.cli import cli
from bridge.invitations import (
    AccessAdministration,
    Actor,
    Facts,
    InvitationRequest,
    KeycloakDirectory,
)
from bridge.local.mailsink import MailSink
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.login import Browserless

SEED = REALM_CONFIG / "examples" / "002-crm-roles-toggles"
PASSWORD = "Chosen-at-activation-3"


def _bridge(realm: RealmUnderTest, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--realm", realm.name], env=realm.cli_env(),
                              catch_exceptions=False)


def _edited_copy(tmp_path: Path, edit: Any) -> Path:
    """The seed's directory copied, with ``edit(catalog_dict)`` applied to its YAML."""
    target = tmp_path / SEED.name
    shutil.copytree(SEED, target)
    path = target / "catalog.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document["catalog"])
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def _invite_and_activate(realm: RealmUnderTest, mail_sink: MailSink, name: str,
                         **facts: Any) -> str:
    """A user made the way operators make them (the invitation use-case), activated
    through the mailed link; returns its login (its e-mail)."""
    administration = AccessAdministration(KeycloakDirectory(realm.admin, realm.name),
                                          load_catalog(SEED))
    email = f"{name}@{realm.name}.example.com"
    result = administration.invite(Actor.operator("test"), InvitationRequest(
        email=email, facts=Facts(**facts), first_name="Test", last_name=name.title(),
        redirect_uri="http://127.0.0.1:3000/"))
    assert result.outcome == "invited"
    link = next(u for u in mail_sink.wait_for(email).links if "/login-actions/action-token" in u)
    Browserless().follow_action_link(link, new_password=PASSWORD)
    return email


def _claims(realm: RealmUnderTest, login: str) -> dict[str, Any]:
    return Browserless().sign_in(realm.issuer, login, PASSWORD).access_claims


def test_a_permission_removed_from_a_profile_leaves_the_next_token(
        fresh_realm: RealmUnderTest, mail_sink: MailSink, tmp_path: Path) -> None:
    assert _bridge(fresh_realm, "realm", "apply", str(REALM_CONFIG), str(SEED)).exit_code == 0
    login = _invite_and_activate(fresh_realm, mail_sink, "una", status="staff",
                                 profiles=("user",))
    assert "payments.view" in _claims(fresh_realm, login)["permissions"]

    def drop_payments(catalog: dict[str, Any]) -> None:
        profile = next(p for p in catalog["profiles"] if p["name"] == "user")
        profile["grants"].remove("payments.view")

    edited = _edited_copy(tmp_path, drop_payments)
    dirs = [REALM_CONFIG, edited]

    # The realm alone (what apply did before): the role leaves the group, but the stored
    # attribute, hence the token's `permissions` claim (and `roles`, which equals it),
    # keeps the permission.
    fresh_realm.apply(dirs)
    stale = _claims(fresh_realm, login)
    base = f"/{fresh_realm.name}"
    group = fresh_realm.admin.get(f"{base}/group-by-path/bridge/catalog/profile/user")
    portal = fresh_realm.admin.get(f"{base}/clients", clientId="portal")[0]
    roles = fresh_realm.admin.get(
        f"{base}/groups/{group['id']}/role-mappings/clients/{portal['id']}")
    assert "documents.view" in {r["name"] for r in roles}
    assert "payments.view" not in {r["name"] for r in roles}
    assert "payments.view" in stale["permissions"]
    assert stale["roles"] == stale["permissions"]

    plan = _bridge(fresh_realm, "realm", "plan", *map(str, dirs))
    assert plan.exit_code == 2, plan.output
    assert "No changes" in plan.output  # the realm itself is up to date...
    assert f"{login}: permissions -payments.view" in plan.output  # ...its users are not
    assert "1 would change, 0 violating" in plan.output

    applied = _bridge(fresh_realm, "realm", "apply", *map(str, dirs))
    assert applied.exit_code == 0, applied.output
    assert f"{login}: permissions -payments.view" in applied.output
    assert "1 users checked, 1 changed, 0 violating" in applied.output

    fresh = _claims(fresh_realm, login)
    assert "payments.view" not in fresh["permissions"]
    assert "documents.view" in fresh["permissions"]  # the rest of the profile stays

    again = _bridge(fresh_realm, "catalog", "reconcile", *map(str, dirs))
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == ["1 users checked, 0 changed, 0 violating"]
    # Paging progress goes to stderr (stdout stays the result).
    assert again.stderr.splitlines() == [
        "reconcile: internal users, page 1 of ~1: 1 checked, 0 to report"]
    dry = _bridge(fresh_realm, "catalog", "reconcile", *map(str, dirs), "--dry-run")
    assert dry.exit_code == 0, dry.output


def test_a_removed_toggle_removes_the_access_of_its_holders_in_one_apply(
        fresh_realm: RealmUnderTest, mail_sink: MailSink, tmp_path: Path) -> None:
    assert _bridge(fresh_realm, "realm", "apply", str(REALM_CONFIG), str(SEED)).exit_code == 0
    holder = _invite_and_activate(fresh_realm, mail_sink, "tom", status="staff",
                                  profiles=("user",), toggles=frozenset({"shared-view"}))
    other = _invite_and_activate(fresh_realm, mail_sink, "ann", status="staff",
                                 profiles=("user",))
    assert "activities.view-shared" in _claims(fresh_realm, holder)["permissions"]

    def drop_toggle(catalog: dict[str, Any]) -> None:
        catalog["toggles"] = [t for t in catalog["toggles"] if t["name"] != "shared-view"]

    edited = _edited_copy(tmp_path, drop_toggle)
    dry = _bridge(fresh_realm, "catalog", "reconcile", str(REALM_CONFIG), str(edited),
                  "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert f"{holder}: violates unknown.toggle: access would be removed" in dry.output

    applied = _bridge(fresh_realm, "realm", "apply", str(REALM_CONFIG), str(edited))
    assert applied.exit_code == 0, applied.output
    assert f"{holder}: violates unknown.toggle: access removed" in applied.output
    assert "2 users checked, 1 changed, 1 violating" in applied.output

    claims = _claims(fresh_realm, holder)
    assert "permissions" not in claims
    assert not claims.get("roles")
    assert "payments.view" in _claims(fresh_realm, other)["permissions"]  # untouched

    again = _bridge(fresh_realm, "catalog", "reconcile", str(REALM_CONFIG), str(edited))
    assert again.exit_code == 0, again.output
    assert "2 users checked, 0 changed, 1 violating" in again.output
    assert f"{holder}: violates unknown.toggle: no access left to remove" in again.output
