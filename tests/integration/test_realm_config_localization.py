"""Localization as code on a real Keycloak: internationalization with en, fr and ro, the
theme names, and the realm's own texts per language, shown on the login page; drift
reverted, texts added by hand kept, bad input refused."""

from __future__ import annotations

import base64
import hashlib
import html
from pathlib import Path

import requests

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import changes, config_with, converged, refused

I18N = {"internationalizationEnabled": True, "supportedLocales": ["en", "fr", "ro"],
        "defaultLocale": "en", "loginTheme": "keycloak.v2", "emailTheme": "keycloak",
        "accountTheme": "keycloak.v3"}
TEXTS = {
    "en": {"loginAccountTitle": "Sign in to SaaS access"},
    "fr": {"loginAccountTitle": "Connexion a SaaS access", "doLogIn": "Se connecter ici"},
    "ro": {"loginAccountTitle": "Autentificare SaaS access"},
}


def _login_page(realm: RealmUnderTest, locale: str) -> str:
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = requests.get(f"{realm.issuer}/protocol/openid-connect/auth", timeout=30,
                            params={"client_id": "portal", "response_type": "code",
                                    "scope": "openid", "ui_locales": locale,
                                    "redirect_uri": "http://127.0.0.1:3000/cb",
                                    "code_challenge": challenge,
                                    "code_challenge_method": "S256"})
    assert response.status_code == 200, response.text[:300]
    return html.unescape(response.text)


def _texts(realm: RealmUnderTest, locale: str) -> dict[str, str]:
    return realm.admin.get(f"/{realm.name}/localization/{locale}")


def test_texts_and_themes_converge_show_on_login_and_drift_is_reverted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {"localization.yaml": {"localization": TEXTS}},
                         edit_realm=I18N)
    converged(fresh_realm, config)
    realm = fresh_realm.admin.get(f"/{fresh_realm.name}")
    assert {k: realm[k] for k in I18N if k != "supportedLocales"} == {
        k: v for k, v in I18N.items() if k != "supportedLocales"}
    assert sorted(realm["supportedLocales"]) == ["en", "fr", "ro"]
    assert _texts(fresh_realm, "fr") == TEXTS["fr"]
    assert "Autentificare SaaS access" in _login_page(fresh_realm, "ro")
    french = _login_page(fresh_realm, "fr")
    assert "Connexion a SaaS access" in french and "Se connecter ici" in french

    fresh_realm.admin.post(f"/{fresh_realm.name}/localization/fr",
                           {"loginAccountTitle": "Changed by hand"})
    fresh_realm.admin.delete(f"/{fresh_realm.name}/localization/ro/loginAccountTitle")
    assert changes(fresh_realm, config) == [
        ("localization-text", "fr/loginAccountTitle", "update"),
        ("localization-text", "ro/loginAccountTitle", "create")]
    converged(fresh_realm, config)
    assert _texts(fresh_realm, "fr") == TEXTS["fr"]
    assert "Autentificare SaaS access" in _login_page(fresh_realm, "ro")


def test_texts_added_by_hand_are_kept_and_only_owned_ones_pruned(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {"localization.yaml": {"localization": TEXTS}},
                         edit_realm=I18N)
    converged(fresh_realm, config)
    fresh_realm.admin.post(f"/{fresh_realm.name}/localization/fr",
                           {"loginTitle": "Fait main"})
    assert fresh_realm.plan(config).empty
    fewer = {**TEXTS, "fr": {"loginAccountTitle": TEXTS["fr"]["loginAccountTitle"]}}
    config = config_with(tmp_path, {"localization.yaml": {"localization": fewer}},
                         edit_realm=I18N)
    assert changes(fresh_realm, config) == [("localization-text", "fr/doLogIn", "delete")]
    converged(fresh_realm, config)
    assert _texts(fresh_realm, "fr") == {"loginAccountTitle": "Connexion a SaaS access",
                                         "loginTitle": "Fait main"}


def test_invalid_texts_name_file_and_key_and_nothing_is_written(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    before = _texts(fresh_realm, "fr")  # realm-config's own texts (localization.yaml)
    # de is not among the shipped supportedLocales (en, fr, ro).
    unsupported = {**TEXTS, "de": {"loginAccountTitle": "Anmelden"}}
    refused(fresh_realm, config_with(tmp_path, {"localization.yaml": {
        "localization": unsupported}}),
            "localization.yaml: localization.de: not one of settings.supportedLocales "
            "(en, fr, ro)")
    bad = {**TEXTS, "fr": {"loginAccountTitle": ["not", "a", "text"]}}
    refused(fresh_realm, config_with(tmp_path, {"localization.yaml": {"localization": bad}},
                                     edit_realm=I18N),
            "localization.yaml: localization.fr.loginAccountTitle: Input should be a valid "
            "string")
    assert _texts(fresh_realm, "fr") == before
    assert "loginAccountTitle" not in before
    assert sorted(fresh_realm.admin.get(f"/{fresh_realm.name}")["supportedLocales"]) == [
        "en", "fr", "ro"]
