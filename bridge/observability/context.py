"""The request id of the work in progress, and which caller-given ids are accepted.

A request id comes from the caller's ``X-Request-Id`` when it is a short token of safe
characters (anything else could forge or break log lines and headers downstream), else
from the trace id of a valid W3C ``traceparent`` (so logs and traces share one id), else
it is made. It lives in a contextvar: every log line, audit event and Keycloak admin call
made while serving the request can name it without being handed it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
MAX_REQUEST_ID = 128
"""Characters of a caller's ``X-Request-Id`` kept at most; a longer one is replaced."""

_SAFE_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_REQUEST_ID - 1}}}")
# W3C Trace Context: version-traceid-parentid-flags, lowercase hex; version ff is invalid.
_TRACEPARENT = re.compile(r"(?!ff)[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}"
                          r"(?:-.*)?")

_current: ContextVar[str | None] = ContextVar("bridge_request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(x_request_id: str | None, traceparent: str | None = None) -> str:
    """The request id of a request with these headers (see the module docstring)."""
    if x_request_id is not None:
        candidate = x_request_id.strip()
        if _SAFE_ID.fullmatch(candidate):
            return candidate
    if traceparent is not None:
        match = _TRACEPARENT.fullmatch(traceparent.strip())
        if match and set(match.group(1)) != {"0"} and set(match.group(2)) != {"0"}:
            return match.group(1)
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being served in this context, None outside any."""
    return _current.get()


def request_id_or_new() -> str:
    """The current request id, or a new one (work done outside a request)."""
    return _current.get() or new_request_id()


@contextmanager
def request_scope(request_id: str) -> Iterator[str]:
    """Make ``request_id`` current for the duration of the block."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def bind(request_id: str | None) -> object:
    """Make ``request_id`` current until :func:`unbind` with the returned token (for hooks
    that open and close in two calls, as Flask's before/teardown request)."""
    return _current.set(request_id)


def unbind(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
