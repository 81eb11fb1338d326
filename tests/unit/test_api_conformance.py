"""``/api/v1`` does what its OpenAPI document says: a bounded, seeded schemathesis run over
the in-memory directory (the same run against a real Keycloak is in
``tests/integration/test_api_conformance.py``)."""

from __future__ import annotations

from tests.support import conformance
from tests.unit.test_invitations_api import Api, _invite


def test_schemathesis_finds_no_mismatch_and_no_5xx() -> None:
    api = Api()
    admin = api.person("anna", "administrator")
    dora = api.person("dora", "document-processing")
    olga = api.person("olga", "document-delivery", tenant="dossier-bakery")
    known = [
        ("POST", "/invitations", {"body": _invite("new@example.com")}),
        ("GET", "/invitations", {"query": {"max": 10}}),
        ("GET", "/users/{id}", {"path_parameters": {"id": dora}}),
        ("PATCH", "/users/{id}", {"path_parameters": {"id": dora},
                                  "body": {"profile": "full-access", "first_name": "Dora"}}),
        ("POST", "/users/{id}/deactivate", {"path_parameters": {"id": dora}}),
        ("POST", "/users/{id}/reactivate", {"path_parameters": {"id": dora}}),
        ("GET", "/me/perimeter", {}),
        ("GET", "/me/access", {}),
    ]
    figures = conformance.run(api.app, lambda: {"Authorization": f"Bearer {admin}"},
                              examples=20, path_ids=[dora, olga], known=known)
    print(figures.summary())
    assert figures.cases > 200
    assert {200, 201, 400, 403, 404} <= set(figures.statuses)
    assert figures.distinct() == [], "\n\n".join(figures.mismatches[:5])
    assert figures.server_errors == 0
