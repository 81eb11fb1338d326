"""scim2-tester's check_server, run in-process through scim2-client's WSGI client."""

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status
from scim_helpers import AUTH, KNOWN_TESTER_APPEND_CHECKS, unexpected_tester_results

pytestmark = pytest.mark.unit

def run(app: Flask) -> list[Any]:
    client = WSGISCIMClient(app, base_url="http://localhost/scim/v2", headers=AUTH)
    return check_server(client)


def test_check_server_success_but_the_rfc_append_checks(app: Flask) -> None:
    results = run(app)
    counts = Counter(result.status.name for result in results)
    print("scim2-tester:", dict(counts))
    unexpected = unexpected_tester_results(results)
    assert unexpected == []
    assert counts["SUCCESS"] >= 150
    assert counts["ERROR"] == len(KNOWN_TESTER_APPEND_CHECKS)
    # members.display is readOnly (computed): the tester writes members without it and
    # reads back exactly what it wrote.
    members = {
        r.title: r.status
        for r in results
        if isinstance(r.data, dict) and r.data.get("urn") == "members"
    }
    assert members["check_add_attribute"] == Status.SUCCESS
    assert members["check_replace_attribute"] == Status.SUCCESS
