"""What Keycloak's login theme shows, where it legitimately differs across the supported
release range (README "Supported Keycloak versions"). Each difference names the releases
it was read from, so a test expects exactly what the release under test shows."""

from __future__ import annotations

from bridge.local.keycloak import version_key

# The page once the required actions are done (login theme's info.ftl). From 26.7 its
# heading is the theme's `accountUpdatedTitle` and the message is the text under it; 26.4
# and 26.5 themes have no such title, so the heading is the message itself (read from the
# messages_*.properties of 26.4.7 and 26.7.5; 26.5.6 shows what 26.4.7 does).
ACCOUNT_UPDATED_TITLE_SINCE = (26, 7)
_ACCOUNT_UPDATED = {
    "en": ("Account updated", "Your account has been updated."),
    "fr": ("Compte mis à jour", "Votre compte a été mis à jour."),
}


def account_updated(version: str, locale: str = "en") -> tuple[str, str]:
    """(heading, message) of the "account updated" page of Keycloak ``version``."""
    title, message = _ACCOUNT_UPDATED[locale]
    has_title = version_key(version)[:2] >= ACCOUNT_UPDATED_TITLE_SINCE
    return (title if has_title else message), message
