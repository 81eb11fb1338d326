"""The realm's localization texts, one resource per text, keyed ``<locale>/<message key>``:
a text made by hand (or by a translator in the admin console) is not owned, so it is kept;
a text the configuration no longer names is removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import localization as kc_localization
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import RealmConfig


def _split(key: str) -> tuple[str, str]:
    locale, _, message = key.partition("/")
    return locale, message


class LocalizationTexts(KindBase):
    name = "localization-text"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{locale}/{message}": {"text": text}
                for locale, texts in (config.localization or {}).items()
                for message, text in texts.items()}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for locale in sorted({_split(k)[0] for k in keys}):
            for message, text in kc_localization.texts(ctx.gateway, ctx.realm, locale).items():
                found[f"{locale}/{message}"] = {"text": text}
        return found

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        locale, message = _split(key)
        kc_localization.set_texts(ctx.gateway, ctx.realm, locale, {message: desired["text"]})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        self.create(ctx, key, desired)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        locale, message = _split(key)
        try:
            kc_localization.delete_text(ctx.gateway, ctx.realm, locale, message)
        except NotFound:
            pass
