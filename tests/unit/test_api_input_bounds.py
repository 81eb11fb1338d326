"""``/api/v1`` under bad input (issue 9, findings 5, 6, 8, 9): a body over the limit is 413,
deep or broken JSON is 400, Keycloak's texts never reach the client, and every e-mail address
Keycloak accepts is accepted (special-use domains included)."""

from __future__ import annotations

import json
import logging

import pytest

from bridge.api.blueprint import MAX_JSON_DEPTH, MAX_PAYLOAD_SIZE
from bridge.keycloak import errors as kc
from tests.unit.test_invitations_api import Api, _invite


@pytest.fixture
def api() -> Api:
    return Api()


def _post(api: Api, actor: str, data: bytes | str) -> object:
    return api.http.post("/api/v1/invitations", data=data, content_type="application/json",
                         headers={"Authorization": f"Bearer {actor}"})


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 490, 1000, 5000])
def test_deep_json_is_400_not_500(api: Api, depth: int) -> None:
    admin = api.person("anna", "administrator")
    body = '{"email": "a@b.com", "perimeter": %s}' % ("[" * depth + "]" * depth)
    answer = _post(api, admin, body)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["error"] == "invalid-request"
    answer = api.http.patch(f"/api/v1/users/{admin}", data=body,
                            content_type="application/json",
                            headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 400


@pytest.mark.parametrize("data", [b"\xff\xfe{}", '{"email": "a\\ud800@b.com"}', "{", "NaN",
                                  '{"email": NaN}'])
def test_broken_json_is_400(api: Api, data: bytes | str) -> None:
    admin = api.person("anna", "administrator")
    answer = _post(api, admin, data)
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid-request")


@pytest.mark.parametrize(("method", "route"), [
    ("POST", "/invitations"), ("GET", "/invitations"), ("PATCH", "/users/x"),
    ("POST", "/invitations/x/resend"), ("POST", "/users/x/deactivate"),
    ("DELETE", "/users/x"), ("GET", "/me/perimeter"), ("GET", "/me/access"),
    ("GET", "/openapi.json")])
def test_body_over_the_limit_is_413_on_every_route(api: Api, method: str, route: str) -> None:
    admin = api.person("anna", "administrator")
    big = json.dumps({"email": "a@b.com", "first_name": "x" * MAX_PAYLOAD_SIZE})
    answer = api.http.open(f"/api/v1{route}", method=method, data=big,
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 413, (method, route, answer.status_code)
    assert answer.get_json()["error"] == "payload-too-large"
    assert str(MAX_PAYLOAD_SIZE) in answer.get_json()["detail"]


def test_keycloak_texts_stay_in_the_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    admin = api.person("anna", "administrator")
    api.directory.fail["create"] = kc.GatewayError(
        "POST /r/users: Keycloak answered 400: error-username-invalid-character", status=400,
        detail="error-username-invalid-character")
    answer = api.call("POST", "/invitations", admin, _invite("a@example.com"))
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid-value")
    text = answer.get_data(as_text=True)
    assert "Keycloak" not in text and "error-" not in text
    assert "userName" in answer.get_json()["detail"]
    assert "error-username-invalid-character" in caplog.text
    api.directory.fail["create"] = kc.Conflict(
        "POST /r/users: conflict: User exists with same email",
        detail="User exists with same email")
    answer = api.call("POST", "/invitations", admin, _invite("b@example.com"))
    assert (answer.status_code, answer.get_json()["error"]) == (409, "already-exists")
    assert "Keycloak" not in answer.get_data(as_text=True)
    assert "User exists" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("address", ["ops@corp.local", "qa@bridge.test", "it@ad.internal",
                                     "demo@acme.example", "root@localhost", "a@[127.0.0.1]"])
def test_invitation_accepts_every_address_keycloak_accepts(api: Api, address: str) -> None:
    admin = api.person("anna", "administrator")
    answer = api.call("POST", "/invitations", admin, _invite(address))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["invitation"]["email"] == address


@pytest.mark.parametrize("address", ["a..b@c.com", "é@b.com", "a@b_c.com", "a@b.com.",
                                     "a@" + "b" * 64 + ".com", "a" * 65 + "@b.com"])
def test_invitation_refuses_what_keycloak_refuses_before_any_write(api: Api,
                                                                    address: str) -> None:
    admin = api.person("anna", "administrator")
    before = len(api.directory.accounts)
    answer = api.call("POST", "/invitations", admin, _invite(address))
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid-request")
    assert answer.get_json()["detail"].startswith("email ")
    assert len(api.directory.accounts) == before


@pytest.mark.parametrize(("extra", "words"), [
    ({"lifespan": "soon"}, "lifespan: must be an integer"),
    ({"language": "de"}, "language: must be 'en', 'fr' or 'ro'"),
    ({"lifespan": 0}, "lifespan: must be at least 1"),
    ({"first_name": 3}, "first_name: must be a string"),
])
def test_refused_fields_are_in_the_bridges_words(api: Api, extra: dict[str, object],
                                                 words: str) -> None:
    admin = api.person("anna", "administrator")
    answer = api.call("POST", "/invitations", admin, _invite("w@example.com", **extra))
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid-request")
    detail = answer.get_json()["detail"]
    assert words in detail
    assert "Input should" not in detail and "Field required" not in detail
