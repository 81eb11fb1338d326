"""scim2-tester's ``check_server`` against the app over a real Keycloak."""

from __future__ import annotations

from collections import Counter

from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.integration.test_scim_support import AUTH, ScimOnKeycloak, scim_env
from tests.unit.scim.scim_helpers import unexpected_tester_results

env = scim_env

def test_check_server_success_but_the_rfc_append_checks(env: ScimOnKeycloak) -> None:
    client = WSGISCIMClient(env.app, base_url="http://localhost/scim/v2", headers=AUTH)
    results = check_server(client)
    counts = Counter(result.status.name for result in results)
    print("scim2-tester over Keycloak:", dict(counts))
    unexpected = [(r.title, r.status.name, r.reason, r.data)
                  for r in unexpected_tester_results(results)]
    assert unexpected == []
    assert counts["SUCCESS"] >= 150
    # members.display is readOnly, returned on request (the member's own name, read from
    # Keycloak): the tester writes members without it and reads back what it wrote.
    members = {r.title: r.status for r in results
               if isinstance(r.data, dict) and r.data.get("urn") == "members"}
    assert members["check_add_attribute"] == Status.SUCCESS
    assert members["check_replace_attribute"] == Status.SUCCESS
