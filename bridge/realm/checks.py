"""Checks across keys of one configuration that its models alone cannot make, for the
kinds of :mod:`bridge.realm.kinds` (required actions, events, texts, components): each
problem names the file (when one file holds the key) and the key path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from bridge.keycloak.components import KEY_PROVIDER, USER_PROFILE, USER_STORAGE
from bridge.realm.model import RealmConfig

# Component types with a configuration key of their own.
OWN_KEYS = {KEY_PROVIDER: "keys", USER_STORAGE: "userFederation",
            USER_PROFILE: "userProfile"}


def _dupes(what: str, names: Iterable[str]) -> Iterable[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            yield f"{what} {name!r} is declared twice"
        seen.add(name)


def kind_problems(config: RealmConfig, origin: Mapping[str, Path]) -> Iterable[str]:
    def where(key: str) -> str:
        return f"{origin[key]}: " if key in origin else ""

    yield from _dupes("required action", (a.alias for a in config.requiredActions))
    yield from _dupes("key provider", (k.name for k in config.keys))
    yield from _dupes("user federation", (f.name for f in config.userFederation))
    yield from _dupes("component", (f"{c.providerType}/{c.subType}/{c.name}"
                                    for c in config.components))
    for federation in config.userFederation:
        yield from _dupes(f"mapper of user federation {federation.name}",
                          (m.name for m in federation.mappers))
    for component in config.components:
        if component.providerType in OWN_KEYS:
            yield (f"component {component.name!r}: providerType {component.providerType} "
                   f"is declared under {OWN_KEYS[component.providerType]}:")
    yield from _dupes("default group", config.defaultGroups)
    if config.events is not None:
        # One home per setting: the events configuration, or the realm settings.
        for field in sorted(config.events.model_fields_set):
            if getattr(config.settings, field, None) is not None:
                yield (f"{where('events')}events.{field}: also given as settings.{field}; "
                       "keep one")
    supported = config.settings.supportedLocales
    for locale in sorted(config.localization or {}):
        if supported is not None and locale not in supported:
            yield (f"{where('localization')}localization.{locale}: not one of "
                   f"settings.supportedLocales ({', '.join(supported)})")
