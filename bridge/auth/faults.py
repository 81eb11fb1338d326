"""The three ways a bearer token is refused, each with its one answer on every surface."""

from __future__ import annotations

RETRY_AFTER_SECONDS = 5


class AuthFault(Exception):
    """A refused request; ``status`` and :meth:`headers` are its answer on every surface."""

    status = 401
    error: str | None = None

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def headers(self, realm: str) -> dict[str, str]:
        params = [f'realm="{realm}"']
        if self.error:
            # RFC 6750 §3: error_description is printable ASCII without '"' and '\'.
            text = "".join(c for c in self.description if " " <= c <= "~" and c not in '"\\')
            params += [f'error="{self.error}"', f'error_description="{text}"']
        return {"WWW-Authenticate": "Bearer " + ", ".join(params)}


class MissingToken(AuthFault):
    """No bearer credentials at all (RFC 6750 §3.1: the challenge carries no error code)."""


class InvalidToken(AuthFault):
    """A bearer token was given and is not valid here."""

    error = "invalid_token"


class KeysUnavailable(AuthFault):
    """The realm's signing keys (or its discovery document) cannot be fetched: retry later."""

    status = 503

    def __init__(self, description: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def headers(self, realm: str) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
