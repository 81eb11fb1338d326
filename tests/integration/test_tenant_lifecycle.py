"""Issue 14's "Tenant lifecycle" on the real Keycloak: a dossier created at runtime (the
CLI), invited into, given a cap, suspended and resumed; each step read from the next token
of real logins."""

from __future__ import annotations

import json
from typing import Any

from bridge.catalog.model import Assignment
from bridge.local.mailsink import MailSink
from tests.conftest import RealmUnderTest
from tests.integration.test_invitations import PASSWORD, Bridge, _activation_link, _bridge
from tests.support.login import Browserless

NEW_PASSWORD = "Chosen-at-activation-2"


def _invited(bridge: Bridge, mail_sink: MailSink, name: str, *tenants: str) -> str:
    email = bridge.email(name)
    args = ["invite", email, "--status", "client-user", "--profile", "full-access",
            "--first-name", "Test", "--last-name", name.title()]
    for tenant in tenants:
        args += ["--tenant", tenant]
    invited = bridge.cli(*args)
    assert invited.exit_code == 0, invited.output
    mail = mail_sink.wait_for(email)
    assert "Delta SA" in mail.text  # the runtime dossier's label, read live
    Browserless().follow_action_link(_activation_link(mail), new_password=NEW_PASSWORD)
    return email


def _permissions(bridge: Bridge, email: str) -> list[str]:
    claims = Browserless().sign_in(bridge.realm.issuer, email, NEW_PASSWORD).access_claims
    return list(claims.get("permissions") or [])


def _json(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_dossier_made_at_runtime_caps_suspends_and_resumes_its_members_only(
        fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge = _bridge(fresh_realm, "004-accounting-portal")

    # Before it exists, nobody can be invited into it: the refusal names it alone.
    early = bridge.cli("invite", bridge.email("too.early"), "--status", "client-user",
                       "--profile", "full-access", "--tenant", "dossier-delta")
    assert early.exit_code == 1
    assert "unknown.tenant: unknown dossier 'dossier-delta'" in early.output
    assert "dossier-acme" not in early.output

    added = _json(bridge.cli("tenant", "add", "dossier-delta", "--label", "Delta SA",
                             "--cap", "financial.view", "-o", "json"))
    assert (added["alias"], added["label"], added["caps"]) == (
        "dossier-delta", "Delta SA", ["financial.view"])
    assert bridge.cli("tenant", "add", "dossier-delta").exit_code == 1  # taken

    # Invited into it (and into bakery, which enables only the baseline): perm@dossier.
    two = _invited(bridge, mail_sink, "anna.two", "dossier-delta", "dossier-bakery")
    one = _invited(bridge, mail_sink, "bob.one", "dossier-delta")
    outsider = bridge.person("carl.outside", Assignment.of(
        "external", "client-user", "full-access", tenants=["dossier-bakery"]))
    outsider_claims = Browserless().sign_in(fresh_realm.issuer, "carl.outside",
                                            PASSWORD).access_claims
    first = _permissions(bridge, two)
    assert "financial.view@dossier-delta" in first
    assert not [p for p in first if p.startswith("payments.use")]
    assert "payments.use" not in _permissions(bridge, one)

    # Enable payments: each member's next token has it, in that dossier only.
    shown = _json(bridge.cli("tenant", "show", "dossier-delta", "-o", "json"))
    assert shown["members"] == 2 and shown["state"] == "active"
    enabled = _json(bridge.cli("tenant", "set", "dossier-delta", "--enable", "payments.use",
                               "-o", "json"))
    assert enabled["caps"] == ["financial.view", "payments.use"]
    assert (enabled["members_recomputed"], enabled["members_written"]) == (2, 2)
    assert "payments.use@dossier-delta" in _permissions(bridge, two)
    assert "payments.use" in _permissions(bridge, one)  # its only dossier: unqualified
    # A non-member is untouched: not written, the same claims.
    assert bridge.user(outsider)["attributes"]["permissions"] == [
        p for p in outsider_claims["permissions"]]
    again = Browserless().sign_in(fresh_realm.issuer, "carl.outside", PASSWORD).access_claims
    assert again["permissions"] == outsider_claims["permissions"]
    # The same change again changes nothing (exit 3).
    assert bridge.cli("tenant", "set", "dossier-delta", "--enable", "payments.use"
                      ).exit_code == 3

    # Suspend: every permission in the dossier leaves the next token; it stays theirs.
    suspended = _json(bridge.cli("tenant", "suspend", "dossier-delta", "-o", "json"))
    assert suspended["state"] == "suspended" and suspended["members_written"] == 2
    during = Browserless().sign_in(fresh_realm.issuer, two, NEW_PASSWORD).access_claims
    assert not [p for p in during["permissions"] if p.endswith("@dossier-delta")]
    assert "payments.use" not in during["permissions"]
    assert during["tenants"] == ["dossier-bakery", "dossier-delta"]
    assert _permissions(bridge, one) == []
    listed = _json(bridge.cli("tenant", "list", "-o", "json"))
    assert {t["alias"]: t["state"] for t in listed["items"]}["dossier-delta"] == "suspended"
    assert listed["total"] == 4  # three seeds and this one

    # Resume: they come back.
    _json(bridge.cli("tenant", "resume", "dossier-delta", "-o", "json"))
    back = _permissions(bridge, two)
    assert {"payments.use@dossier-delta", "financial.view@dossier-delta"} <= set(back)
    assert bridge.user(outsider)["attributes"]["permissions"] == outsider_claims["permissions"]

    # Delete: refused while it has members, then with remove-members.
    refused = bridge.cli("tenant", "delete", "dossier-delta")
    assert refused.exit_code == 1 and "tenant.has-members" in refused.output
    gone = _json(bridge.cli("tenant", "delete", "dossier-delta", "--remove-members",
                            "-o", "json"))
    assert gone["members_written"] == 2
    after = Browserless().sign_in(fresh_realm.issuer, two, NEW_PASSWORD).access_claims
    assert after["tenants"] == ["dossier-bakery"]
    assert not [p for p in after["permissions"] if "@" in p]
    assert bridge.cli("tenant", "show", "dossier-delta").exit_code == 1
