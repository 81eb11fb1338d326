"""The login-theme texts expected per Keycloak release (tests/support/keycloak_pages.py)."""

from __future__ import annotations

import pytest

from bridge.local.keycloak import KEYCLOAK_VERSION, OLDEST_SUPPORTED_VERSION
from tests.support.keycloak_pages import account_updated

pytestmark = pytest.mark.unit


def test_account_updated_heading_follows_the_theme_of_the_release() -> None:
    assert account_updated(KEYCLOAK_VERSION) == ("Account updated",
                                                 "Your account has been updated.")
    assert account_updated(KEYCLOAK_VERSION, "fr") == ("Compte mis à jour",
                                                       "Votre compte a été mis à jour.")
    # 26.4 and 26.5 themes have no accountUpdatedTitle: the heading is the message.
    for older in (OLDEST_SUPPORTED_VERSION, "26.5.6"):
        assert account_updated(older) == ("Your account has been updated.",) * 2
        assert account_updated(older, "fr") == ("Votre compte a été mis à jour.",) * 2
