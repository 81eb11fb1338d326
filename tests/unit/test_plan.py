"""Plans as values: overlay diff, loose scalar comparison, rendering without secrets."""

from __future__ import annotations

from bridge.realm.plan import Change, FieldChange, Plan, diff, render


def test_only_desired_fields_are_compared() -> None:
    actual = {"enabled": True, "redirectUris": ["b", "a"], "attributes": {"x": "1", "y": "2"},
              "id": "123"}
    assert diff({"enabled": True, "redirectUris": ["a", "b"], "attributes": {"x": 1}},
                actual) == []


def test_changed_fields_are_named_by_path() -> None:
    changes = diff({"attributes": {"x": "2"}, "webOrigins": ["c"]},
                   {"attributes": {"x": "1"}, "webOrigins": ["d"]})
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("attributes.x", "1", "2"), ("webOrigins", ["d"], ["c"])]


def test_exact_fields_see_extra_keys() -> None:
    changes = diff({"clients": {"a": ["r"]}}, {"clients": {"a": ["r"], "b": ["s"]}},
                   exact=("clients",))
    assert [c.path for c in changes] == ["clients"]


def test_render_masks_secrets_and_counts() -> None:
    plan = Plan("r", False, (
        Change("client", "bridge", "update",
               fields=(FieldChange("secret", "old-secret-value", "new-secret-value"),)),
        Change("group", "/x", "delete"),
    ))
    text = "\n".join(render(plan))
    assert "old-secret-value" not in text and "new-secret-value" not in text
    assert "secret: (secret) -> (secret)" in text
    assert text.endswith("Plan: 0 to create, 1 to update, 1 to delete.")


def test_empty_plan_says_so() -> None:
    assert render(Plan("r", False)) == ["No changes: realm r matches the configuration."]


def test_a_fingerprint_cannot_confirm_a_guessed_secret() -> None:
    # A saved plan carries fingerprints of the configuration and of the live realm; a
    # digest over a secret would let whoever reads the file test candidate secrets.
    from bridge.realm.plan import fingerprint

    def realm(secret: str, bind: str, smtp: str) -> dict:
        return {"client": {"hr-system": {"clientId": "hr-system", "secret": secret}},
                "identity-provider": {"entra": {"config": {"clientSecret": secret}}},
                "user-federation": {"ldap": {"config": {"bindCredential": [bind]}}},
                "settings": {"smtpServer": {"password": smtp, "host": "mail"}}}

    assert fingerprint(realm("s3cret", "b1nd", "smtp")) == fingerprint(realm("x", "y", "z"))
    # Everything else still counts.
    changed = realm("s3cret", "b1nd", "smtp")
    changed["settings"]["smtpServer"]["host"] = "other"
    assert fingerprint(changed) != fingerprint(realm("s3cret", "b1nd", "smtp"))
    changed = realm("s3cret", "b1nd", "smtp")
    changed["client"]["hr-system"]["clientId"] = "hr"
    assert fingerprint(changed) != fingerprint(realm("s3cret", "b1nd", "smtp"))
