"""``/api/v1`` does what its OpenAPI document says: a bounded, seeded schemathesis run over
the in-memory directory (the same run against a real Keycloak is in
``tests/integration/test_api_conformance.py``)."""

from __future__ import annotations

from tests.support import conformance
from tests.unit.test_invitations_api import Api


def test_schemathesis_finds_no_mismatch_and_no_5xx() -> None:
    api = Api()
    admin = api.person("anna", "administrator")
    others = [api.person("dora", "document-processing"),
              api.person("olga", "document-delivery", tenant="dossier-bakery")]
    figures = conformance.run(api.app, lambda: {"Authorization": f"Bearer {admin}"},
                              examples=20, path_ids=others)
    print(figures.summary())
    assert figures.cases > 200
    assert figures.distinct() == [], "\n\n".join(figures.mismatches[:5])
    assert figures.server_errors == 0
