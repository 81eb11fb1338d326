"""Events as code on a real Keycloak: listeners, login events (types, expiration) and admin
events; drift reverted, fields left out kept, bad input and a setting given twice refused."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import changes, config_with, converged, refused

EVENT_SETTINGS = ("eventsEnabled", "eventsExpiration", "adminEventsEnabled",
                  "adminEventsDetailsEnabled")
EVENTS = {"eventsListeners": ["jboss-logging", "email"], "eventsEnabled": True,
          "eventsExpiration": 604800, "enabledEventTypes": ["LOGIN", "LOGIN_ERROR",
                                                            "UPDATE_TOTP"],
          "adminEventsEnabled": True, "adminEventsDetailsEnabled": False}


def _config(tmp_path: Path, events: dict) -> Path:
    return config_with(tmp_path, {"events.yaml": {"events": events}},
                       drop_settings=EVENT_SETTINGS)


def _live(realm: RealmUnderTest) -> dict:
    return realm.admin.get(f"/{realm.name}/events/config")


def test_events_converge_are_recorded_and_drift_is_reverted(fresh_realm: RealmUnderTest,
                                                           tmp_path: Path) -> None:
    config = _config(tmp_path, EVENTS)
    converged(fresh_realm, config)
    live = _live(fresh_realm)
    assert sorted(live["eventsListeners"]) == ["email", "jboss-logging"]
    assert sorted(live["enabledEventTypes"]) == ["LOGIN", "LOGIN_ERROR", "UPDATE_TOTP"]
    assert (live["eventsEnabled"], live["eventsExpiration"], live["adminEventsEnabled"],
            live["adminEventsDetailsEnabled"]) == (True, 604800, True, False)
    # A failed password grant is recorded as LOGIN_ERROR (a type the configuration keeps).
    requests.post(f"{fresh_realm.issuer}/protocol/openid-connect/token", timeout=30, data={
        "grant_type": "password", "client_id": "admin-cli", "username": "nobody",
        "password": "wrong"})
    recorded = fresh_realm.admin.get(f"/{fresh_realm.name}/events", type="LOGIN_ERROR")
    assert recorded and recorded[0]["type"] == "LOGIN_ERROR"

    fresh_realm.admin.put(f"/{fresh_realm.name}/events/config", {
        **live, "eventsListeners": ["jboss-logging"], "eventsExpiration": 60})
    plan = fresh_realm.plan(config)
    assert [(c.kind, c.key, sorted(f.path for f in c.fields)) for c in plan.changes] == [
        ("events", "events", ["eventsExpiration", "eventsListeners"])]
    converged(fresh_realm, config)
    live = _live(fresh_realm)
    assert sorted(live["eventsListeners"]) == ["email", "jboss-logging"]
    assert live["eventsExpiration"] == 604800


def test_fields_not_configured_are_kept(fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _config(tmp_path, {"eventsListeners": ["jboss-logging", "email"]})
    converged(fresh_realm, config)
    live = _live(fresh_realm)
    fresh_realm.admin.put(f"/{fresh_realm.name}/events/config", {
        **live, "enabledEventTypes": ["LOGOUT"]})
    assert changes(fresh_realm, config) == []
    converged(fresh_realm, config)
    assert _live(fresh_realm)["enabledEventTypes"] == ["LOGOUT"]


def test_invalid_events_name_file_and_key_and_nothing_is_written(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    refused(fresh_realm, _config(tmp_path, {**EVENTS, "eventsExpiration": "a month"}),
            "events.yaml: events.eventsExpiration: Input should be a valid integer")
    # One home per setting: given both in settings and in events, it is refused.
    twice = config_with(tmp_path, {"events.yaml": {"events": EVENTS}})
    refused(fresh_realm, twice, "events.yaml: events.eventsEnabled: also given as "
                                "settings.eventsEnabled; keep one")
    assert _live(fresh_realm)["eventsListeners"] == ["jboss-logging"]
