"""The realm's OTP and WebAuthn policies: one resource each, fields of the realm itself
(``otpPolicyDigits``, ``webAuthnPolicyRpId``, ``webAuthnPolicyPasswordlessRpId``...), only
updated, never deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import realm as kc_realm
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig


class _RealmFields(KindBase):
    """One configuration key (``otpPolicy:``) whose fields are realm fields ``prefix+Name``."""

    key = ""
    prefix = ""

    def field(self, name: str) -> str:
        return self.prefix + name[0].upper() + name[1:]

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        policy = getattr(config, self.key)
        return {} if policy is None else {self.key: drop_none(policy.model_dump())}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if self.key not in keys:
            return {}
        realm = kc_realm.get(ctx.gateway, ctx.realm)
        names = [n for n in realm if n.startswith(self.prefix)]
        return {self.key: {n[len(self.prefix)].lower() + n[len(self.prefix) + 1:]: realm[n]
                           for n in names}}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, {})  # planned before the realm existed

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        # Keycloak rebuilds a policy whole from the fields a realm update carries (a field
        # left out falls back to its default; OTP fields without the type are ignored): the
        # live policy is sent with the configured fields laid over it.
        if not actual:
            actual = self.actual(ctx, {self.key})[self.key]
        kc_realm.update(ctx.gateway, ctx.realm, {self.field(name): value for name, value
                                                 in {**actual, **desired}.items()})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("a realm policy is never deleted")


class OtpPolicy(_RealmFields):
    name = "otp-policy"
    key = "otpPolicy"
    prefix = "otpPolicy"


class WebAuthnPolicy(_RealmFields):
    name = "webauthn-policy"
    key = "webAuthnPolicy"
    prefix = "webAuthnPolicy"

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        # webAuthnPolicyPasswordless* fields belong to the other policy.
        found = super().actual(ctx, keys)
        if self.key in found:
            found[self.key] = {k: v for k, v in found[self.key].items()
                               if not k.startswith("passwordless")}
        return found


class WebAuthnPasswordlessPolicy(_RealmFields):
    name = "webauthn-passwordless-policy"
    key = "webAuthnPasswordlessPolicy"
    prefix = "webAuthnPolicyPasswordless"
