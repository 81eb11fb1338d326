"""What Keycloak 26.7.5 accepts, checked before any write (the one home of these rules).

Measured on the real server (``tests/integration/test_keycloak_limits.py`` sends each
boundary to Keycloak itself and to these checks, and expects the same verdict):

==============================  =================  =====================================
value                           limit              beyond it, Keycloak answers
==============================  =================  =====================================
username                        3 to 255 chars     400 ``error-invalid-length``
email, firstName, lastName      255 chars          400 ``error-invalid-length-too-long``
email                           its validator      400 ``error-invalid-email`` (below)
user attribute value            2,048 chars        400 ``error-invalid-length``
group name                      1 to 255 chars     **500** (a database column)
group attribute value           255 chars          **500** (a database column)
attribute name (user, group)    255 chars          **500**
request body                    10 MiB             413
==============================  =================  =====================================

Lengths are counted as Java counts them, in UTF-16 code units.

E-mail addresses follow Keycloak's ``EmailValidationUtil`` (itself Hibernate Validator's
rule): a local part of at most 64 characters, dot-separated atoms or quoted strings; a
domain of labels (letters, digits, ``!#$%&'*+/=?^`{|}~``, non-ASCII, inner dashes; no
underscore), ``[IPv4]`` or ``[IPv6:…]``, no trailing dot, at most 255 characters once
IDNA-encoded (Java's ``IDN.toASCII``: nameprep, no unassigned code point, labels of at most
63). Special-use domains (``.local``, ``.test``, ``.internal``, ``.example``, ``localhost``)
and dot-less domains are accepted. A realm that sends mail without ``allowutf8`` (ours)
also refuses a non-ASCII local part (``error-non-ascii-local-part-email``).
"""

from __future__ import annotations

import re
import stringprep
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.keycloak.errors import Refused

NAME_MAX = 255
USERNAME_MIN = 3
USER_ATTRIBUTE_VALUE_MAX = 2048
GROUP_NAME_MAX = 255
GROUP_ATTRIBUTE_VALUE_MAX = 255
ATTRIBUTE_NAME_MAX = 255
EMAIL_LOCAL_PART_MAX = 64
EMAIL_DOMAIN_MAX = 255
REQUEST_BODY_MAX = 10 * 1024 * 1024

_LOCAL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]"
_QUOTED_ATOM = r"(?:[A-Za-z0-9!#$%&'*.(),<>\[\]:; @+/=?^_`{|}~\u0080-\uffff-]|\\\\|\\\")"
_LOCAL_WORD = rf'(?:{_LOCAL_ATOM}+|"{_QUOTED_ATOM}+")'
_LOCAL_PART = re.compile(rf"{_LOCAL_WORD}(?:\.{_LOCAL_WORD})*")
_DOMAIN_CHAR = r"[A-Za-z0-9\u0080-\uffff!#$%&'*+/=?^`{|}~]"
# Keycloak writes a label as (?:C-*)*C+; C(?:[C-]*C)? accepts the same strings without the
# nested quantifier (which backtracks exponentially on a refused label).
_LABEL = rf"{_DOMAIN_CHAR}(?:[{_DOMAIN_CHAR[1:-1]}-]*{_DOMAIN_CHAR})?"
_IPV4 = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
_IPV6 = (
    r"(?:(?:[0-9a-f]{1,4}:){7,7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,7}:|"
    r"(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,5}(?::[0-9a-f]{1,4}){1,2}|"
    r"(?:[0-9a-f]{1,4}:){1,4}(?::[0-9a-f]{1,4}){1,3}|(?:[0-9a-f]{1,4}:){1,3}(?::[0-9a-f]{1,4}){1,4}|"
    r"(?:[0-9a-f]{1,4}:){1,2}(?::[0-9a-f]{1,4}){1,5}|[0-9a-f]{1,4}:(?:(?::[0-9a-f]{1,4}){1,6})|"
    r":(?:(?::[0-9a-f]{1,4}){1,7}|:)|fe80:(?::[0-9a-f]{0,4}){0,4}%[0-9a-z]{1,}|"
    r"::(?:ffff(:0{1,4}){0,1}:){0,1}(?:(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}"
    r"(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])|(?:[0-9a-f]{1,4}:){1,4}:"
    r"(?:(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}"
    r"(?:25[0-5]|(?:2[0-4]|1{0,1}[0-9]){0,1}[0-9]))"
)
# Java's CASE_INSENSITIVE without UNICODE_CASE folds ASCII letters only: so does re.ASCII.
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*|\[{_IPV4}\]|\[IPv6:{_IPV6}\]",
                     re.IGNORECASE | re.ASCII)
_LABEL_DOTS = re.compile("[.\u3002\uff0e\uff61]")


def java_length(value: str) -> int:
    """The length Java gives a string: UTF-16 code units (an emoji counts 2)."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _idna_ascii_length(domain: str) -> int | None:
    """Length of ``IDN.toASCII(domain)`` (Java, IDNA 2003, unassigned code points refused),
    or ``None`` where Java throws."""
    for label in _LABEL_DOTS.split(domain):
        if not label.isascii() and any(stringprep.in_table_a1(c) for c in label):
            return None  # unassigned in Unicode 3.2: Java's IDN refuses it
    try:
        return len(domain.encode("idna"))
    except UnicodeError:
        return None


def email_problem(value: str, *, allow_utf8_local_part: bool = False) -> str | None:
    """Why Keycloak would refuse ``value`` as a user's e-mail, or ``None`` if it accepts it."""
    if not value:
        return "is empty"
    if java_length(value) > NAME_MAX:
        return f"is longer than {NAME_MAX} characters"
    local, at, domain = value.rpartition("@")
    if not at:
        return "is not an e-mail address (local-part@domain)"
    if java_length(local) > EMAIL_LOCAL_PART_MAX:
        return f"has a local part longer than {EMAIL_LOCAL_PART_MAX} characters"
    if not _LOCAL_PART.fullmatch(local):
        return "has a local part that is not valid (RFC 5321 atoms or a quoted string)"
    if domain.endswith("."):
        return "has a domain that ends with a dot"
    length = _idna_ascii_length(domain)
    if length is None or length > EMAIL_DOMAIN_MAX or not _DOMAIN.fullmatch(domain):
        return "has a domain that is not valid"
    if not allow_utf8_local_part and not local.isascii():
        return "has a non-ASCII local part, which this directory's mail server cannot address"
    return None


# -- the checks run before each write ---------------------------------------------------

def _too_long(value: Any, limit: int) -> bool:
    return isinstance(value, str) and java_length(value) > limit


def _attributes(attributes: Mapping[str, Iterable[Any]] | None, value_max: int,
                owner: str) -> None:
    for name, values in (attributes or {}).items():
        if java_length(name) > ATTRIBUTE_NAME_MAX:
            raise Refused(f"{owner} attribute name longer than {ATTRIBUTE_NAME_MAX}",
                          field=name, reason=f"is a name longer than {ATTRIBUTE_NAME_MAX} "
                          "characters")
        for value in values or ():
            if _too_long(value, value_max):
                raise Refused(f"{owner} attribute {name} too long", field=name,
                              reason=f"is longer than {value_max} characters")


def check_user(rep: Mapping[str, Any], *, creating: bool) -> None:
    """Raise :class:`Refused` for a user representation Keycloak would not store whole.

    ``creating``: a new user must carry a username; an update may leave it out."""
    username = rep.get("username")
    if username is not None or creating:
        if not isinstance(username, str) or not (
                USERNAME_MIN <= java_length(username) <= NAME_MAX):
            raise Refused("username length", field="username",
                          reason=f"must be {USERNAME_MIN} to {NAME_MAX} characters")
    for field in ("firstName", "lastName"):
        if _too_long(rep.get(field), NAME_MAX):
            raise Refused(f"{field} too long", field=field,
                          reason=f"is longer than {NAME_MAX} characters")
    email = rep.get("email")
    if isinstance(email, str) and email:
        problem = email_problem(email)
        if problem:
            raise Refused("email refused", field="email", reason=problem)
    _attributes(rep.get("attributes"), USER_ATTRIBUTE_VALUE_MAX, "user")


def check_group(rep: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` for a group representation Keycloak would answer with a 500
    (or refuse): a name of 1 to 255 characters, attribute values of at most 255."""
    name = rep.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise Refused("group name missing", field="name", reason="is required")
        if java_length(name) > GROUP_NAME_MAX:
            raise Refused("group name too long", field="name",
                          reason=f"is longer than {GROUP_NAME_MAX} characters")
    _attributes(rep.get("attributes"), GROUP_ATTRIBUTE_VALUE_MAX, "group")
