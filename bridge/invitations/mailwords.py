"""How an invitation mail names what the invitee is invited to: the tenants (by their
catalog label) or, without tenants, the perimeter (each dimension's label and entries).
Stored on the invitee as one attribute the e-mail theme shows (themes/bridge/email)."""

from __future__ import annotations

from bridge.catalog.model import Assignment, Catalog
from bridge.invitations.values import SCOPE_MAX


def invitation_scope(catalog: Catalog, assignment: Assignment) -> str:
    """``"dossier Acme SARL, dossier Beta"``, ``"project: p1, p2; team: t1"`` or ``""``;
    at most :data:`SCOPE_MAX` characters (a longer one ends with "…")."""
    if assignment.tenants:
        tenancy = catalog.tenancy
        labels = {t.name: t.label or t.name for t in tenancy.tenants} if tenancy else {}
        kind = tenancy.label if tenancy else "tenant"
        text = ", ".join(f"{kind} {labels.get(t, t)}" for t in sorted(assignment.tenants))
    else:
        by_dimension = assignment.perimeter_by_dimension()
        dimensions = catalog.dimension_by_name
        text = "; ".join(
            f"{(dimensions[d].label if d in dimensions else '') or d}: {', '.join(values)}"
            for d, values in sorted(by_dimension.items()))
    return text if len(text) <= SCOPE_MAX else text[:SCOPE_MAX - 1] + "…"
