"""Request bodies as JSON, within the limits the server advertises.

``parse_json(body, max_size=..., max_depth=...)`` is the one way a body becomes a
value: its size is checked before anything else, its nesting depth is measured
before parsing (Python's parser, and every recursive walk after it, would
otherwise exhaust the stack at a few hundred levels: a 1 KB body), it must be
UTF-8 (RFC 8259 §8.1), and no string may hold an unpaired UTF-16 surrogate
(``"\\ud800"``: RFC 8259 §8.2 calls its behaviour unpredictable; no directory
can store it faithfully).

Nothing here imports Flask or knows a SCIM resource: the ``/api/v1`` blueprint
parses its bodies with the same function.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["BodyTooDeep", "BodyTooLarge", "InvalidJson", "PayloadError", "parse_json"]


class PayloadError(ValueError):
    """A body that is not acceptable JSON; ``str(error)`` is a sentence for the client."""


class BodyTooLarge(PayloadError):
    """More bytes than the route accepts (answered 413)."""


class BodyTooDeep(PayloadError):
    """Arrays and objects nested deeper than the server's limit (answered 400)."""


class InvalidJson(PayloadError):
    """Not UTF-8 JSON, or a string holding an unpaired surrogate (answered 400)."""

    def __init__(self, message: str, *, surrogate: bool = False) -> None:
        super().__init__(message)
        self.surrogate = surrogate


# A JSON string, closing quote optional: an unterminated string runs to the end of the
# body in one linear match (the body is refused by the parser anyway), instead of being
# retried from every later quote.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)


def depth_exceeds(text: str, max_depth: int) -> bool:
    """Whether arrays/objects nest deeper than ``max_depth`` (strings do not count).

    Linear in the size of the text; stops at the first level beyond the limit.
    """
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python's extension of JSON


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_json(body: bytes, *, max_size: int, max_depth: int) -> Any:
    """The JSON value of ``body``, or a :class:`PayloadError` saying what is wrong."""
    if len(body) > max_size:
        raise BodyTooLarge(f"The request body exceeds the maximum payload size "
                           f"({max_size} bytes)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("The request body is not UTF-8") from None
    if depth_exceeds(text, max_depth):
        raise BodyTooDeep(f"The request body nests arrays and objects more than "
                          f"{max_depth} levels deep")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        raise InvalidJson("The request body is not valid JSON") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise InvalidJson("A string in the request holds an unpaired UTF-16 surrogate "
                          "(\\ud800-\\udfff), which is not a character", surrogate=True)
    return value
