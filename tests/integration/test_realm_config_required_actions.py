"""Required actions as code on a real Keycloak: enabled, default for new users, priority;
drift reverted, one unregistered by hand registered again, the others left as they are."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import changes, config_with, converged, refused

ACTIONS = [
    {"alias": "CONFIGURE_TOTP", "enabled": True, "defaultAction": True, "priority": 5},
    {"alias": "webauthn-register", "enabled": True, "defaultAction": False, "priority": 15},
    {"alias": "TERMS_AND_CONDITIONS", "enabled": True, "priority": 25},
]


def _live(realm: RealmUnderTest) -> dict[str, dict]:
    return {a["alias"]: a for a in realm.admin.get(
        f"/{realm.name}/authentication/required-actions")}


def _view(action: dict) -> tuple:
    return action["enabled"], action["defaultAction"], action["priority"]


def test_required_actions_converge_and_drift_is_reverted(fresh_realm: RealmUnderTest,
                                                         tmp_path: Path) -> None:
    config = config_with(tmp_path, {"required-actions.yaml": {"requiredActions": ACTIONS}})
    converged(fresh_realm, config)
    live = _live(fresh_realm)
    assert _view(live["CONFIGURE_TOTP"]) == (True, True, 5)
    assert _view(live["webauthn-register"]) == (True, False, 15)
    assert live["TERMS_AND_CONDITIONS"]["enabled"] is True
    # The order a user meets them in follows the priorities.
    order = [a for a in live if a in ("CONFIGURE_TOTP", "webauthn-register",
                                      "TERMS_AND_CONDITIONS")]
    assert order == ["CONFIGURE_TOTP", "webauthn-register", "TERMS_AND_CONDITIONS"]

    base = f"/{fresh_realm.name}/authentication/required-actions"
    fresh_realm.admin.put(f"{base}/CONFIGURE_TOTP", {**live["CONFIGURE_TOTP"],
                                                     "enabled": False, "priority": 99})
    fresh_realm.admin.delete(f"{base}/webauthn-register")  # unregistered by hand
    plan = fresh_realm.plan(config)
    assert sorted((c.kind, c.key, c.action, tuple(sorted(f.path for f in c.fields)))
                  for c in plan.changes) == [
        ("required-action", "CONFIGURE_TOTP", "update", ("enabled", "priority")),
        ("required-action", "webauthn-register", "create", ())]
    converged(fresh_realm, config)
    live = _live(fresh_realm)
    assert _view(live["CONFIGURE_TOTP"]) == (True, True, 5)
    assert _view(live["webauthn-register"]) == (True, False, 15)


def test_actions_not_configured_are_left_as_they_are(fresh_realm: RealmUnderTest,
                                                     tmp_path: Path) -> None:
    config = config_with(tmp_path, {"required-actions.yaml": {"requiredActions": ACTIONS}})
    converged(fresh_realm, config)
    base = f"/{fresh_realm.name}/authentication/required-actions"
    delete_account = _live(fresh_realm)["delete_account"]
    fresh_realm.admin.put(f"{base}/delete_account", {**delete_account, "enabled": True})
    assert fresh_realm.plan(config).empty
    # Dropped from the configuration: never deleted, left as last applied.
    config = config_with(tmp_path, {"required-actions.yaml": {"requiredActions": ACTIONS[1:]}})
    assert changes(fresh_realm, config) == []
    converged(fresh_realm, config)
    live = _live(fresh_realm)
    assert live["delete_account"]["enabled"] is True
    assert _view(live["CONFIGURE_TOTP"]) == (True, True, 5)


def test_invalid_required_action_names_file_and_key_and_nothing_is_written(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    actions = [dict(ACTIONS[0]), {**ACTIONS[1], "priority": "first"}]
    config = config_with(tmp_path, {"required-actions.yaml": {"requiredActions": actions}})
    refused(fresh_realm, config, "required-actions.yaml: requiredActions[1].priority: "
                                 "Input should be a valid integer")
    assert _view(_live(fresh_realm)["CONFIGURE_TOTP"]) == (True, False, 54)
