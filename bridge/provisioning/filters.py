"""What part of a SCIM filter Keycloak can answer (RFC 7644 §3.4.2.2 → admin API params).

Only ``eq`` terms at the top of the filter, or inside a top-level ``and``, are pushed
down; the backend still tests every candidate against the whole filter with
scim2-models' ``match()``, so a pushed-down term can narrow the candidates but never
make an answer wrong.

=====================  ==========================================================
SCIM ``eq``            Keycloak ``GET /users`` parameters
=====================  ==========================================================
``id``                 ``GET /users/{id}``
``userName``           ``username=<v>&exact=true``
``emails[.value]``     ``q=scim.email:<v>`` (every e-mail value, lowercased)
``externalId``         ``q=scim.externalId:<v>``
``active``             ``enabled=<bool>``
=====================  ==========================================================

``groups.value`` (or ``groups``) ``eq`` makes the candidates the members of that managed
group (one call per 500 members), and so does ``groups.display eq`` (after a name search);
every other mention of ``groups`` (a filter, ``sortBy``, ``attributes=groups``) is answered
from the memberships of the managed groups, read once per request: O(groups) admin calls,
never one per user.

Group ``displayName eq`` becomes a ``search`` under the managed root (Keycloak's search
is a case-insensitive substring match; ``match()`` keeps the equal names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scim2_models import ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
)

from bridge.provisioning.mapping import EMAILS, EXTERNAL_ID
from scim.resources import GROUP_SCHEMA, USER_SCHEMA

PUSHED_DOWN = ("id", "userName", "externalId", "emails.value", "groups.value",
               "groups.display")
"""The ``eq`` filters the directory answers without examining other users (a ``tooMany``
names them)."""


@dataclass
class UserPushdown:
    """Keycloak parameters narrowing the candidates of a user filter."""

    by_id: str | None = None
    member_of: str | None = None
    """A managed group's id: the candidates are its members."""
    member_of_named: str | None = None
    """A managed group's displayName: the candidates are its members."""
    params: dict[str, str] = field(default_factory=dict)
    q: dict[str, str] = field(default_factory=dict)
    complete: bool = False
    """Whether Keycloak's answer is exactly the SCIM answer (no term left to test), so that
    ``/users/count`` and one page suffice."""

    def keycloak_params(self, tenant_attribute: str, tenant: str | None) -> dict[str, str]:
        q = dict(self.q)
        if tenant is not None:
            q[tenant_attribute] = tenant
        params = dict(self.params)
        if q:
            params["q"] = " ".join(f'{key}:"{value}"' for key, value in q.items())
        if q or "username" in params:
            params["exact"] = "true"
        return params


def _terms(node: FilterNode | None) -> Sequence[FilterNode]:
    if node is None:
        return ()
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        return node.terms
    return (node,)


def _eq(term: FilterNode, core: str) -> tuple[str, Any] | None:
    """``(attribute[.sub], value)`` of a core-schema ``eq`` term, else ``None``."""
    if not (isinstance(term, Comparison) and term.op == CompareOperator.eq
            and isinstance(term.attr_path, AttrPath)):
        return None
    path = term.attr_path
    if path.uri is not None and path.uri.casefold() != core.casefold():
        return None
    name = path.attr.casefold()
    if path.sub_attr:
        name += "." + path.sub_attr.casefold()
    return name, term.value


def _quotable(value: Any) -> bool:
    # Keycloak's q= grammar is key:"value" separated by spaces; a quote cannot be escaped.
    return isinstance(value, str) and value != "" and '"' not in value and len(value) <= 255


def users(scim_filter: ScimFilter[Any] | None) -> UserPushdown:
    pushdown = UserPushdown()
    terms = _terms(scim_filter.ast if scim_filter else None)
    pushed = 0
    for term in terms:
        eq = _eq(term, USER_SCHEMA)
        if eq is None:
            continue
        name, value = eq
        if name == "id" and isinstance(value, str) and pushdown.by_id is None:
            pushdown.by_id = value
        elif name == "username" and _quotable(value) and "username" not in pushdown.params:
            pushdown.params["username"] = value
        elif name in ("emails", "emails.value") and _quotable(value) and EMAILS not in pushdown.q:
            pushdown.q[EMAILS] = value.lower()
        elif name == "externalid" and _quotable(value) and EXTERNAL_ID not in pushdown.q:
            pushdown.q[EXTERNAL_ID] = value
        elif name in ("groups", "groups.value") and isinstance(value, str) and value and (
                pushdown.member_of is None):
            pushdown.member_of = value
        elif name == "groups.display" and isinstance(value, str) and value and (
                pushdown.member_of_named is None):
            pushdown.member_of_named = value
        elif name == "active" and isinstance(value, bool) and "enabled" not in pushdown.params:
            pushdown.params["enabled"] = "true" if value else "false"
            pushed += 1  # Keycloak's enabled is exactly SCIM's active
            continue
        else:
            continue
    pushdown.complete = scim_filter is None or (pushed == len(terms) and pushed > 0)
    return pushdown


def group_display_name(scim_filter: ScimFilter[Any] | None) -> str | None:
    """The value of a top-level ``displayName eq`` (to search by), else ``None``."""
    for term in _terms(scim_filter.ast if scim_filter else None):
        eq = _eq(term, GROUP_SCHEMA)
        if eq and eq[0] == "displayname" and isinstance(eq[1], str) and eq[1]:
            return eq[1]
    return None


def mentions(scim_filter: ScimFilter[Any] | None, sort_by: Any, attribute: str) -> bool:
    """Whether the filter or sortBy names ``attribute`` (e.g. ``members``, ``groups``)."""
    text = f"{scim_filter or ''} {sort_by or ''}".casefold()
    return attribute.casefold() in text
