"""The directory's errors are the domain's (:mod:`bridge.errors`): the gateway makes them
once from Keycloak's answer, and SCIM, the API and the CLI map the domain's classes, not
Keycloak's, to their answers (the same answers as before, whoever raised them)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
from flask import Flask

from bridge import cli
from bridge import errors as domain
from bridge.keycloak import errors as kc
from bridge.keycloak.client import AdminGateway
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning import users as provisioning_users
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint
from tests.unit.test_invitations_api import Api, _invite

KC = "http://kc.test"


@responses.activate
@pytest.mark.parametrize(("status", "kind"), [
    (400, domain.Refused), (404, domain.NotFound), (409, domain.Duplicate),
    (413, domain.TooLarge), (502, domain.Unavailable), (503, domain.Unavailable),
    (504, domain.Unavailable), (500, domain.DirectoryError), (403, domain.DirectoryError),
])
def test_keycloak_answers_become_the_domains_errors(status: int, kind: type) -> None:
    responses.post(f"{KC}/realms/master/protocol/openid-connect/token",
                   json={"access_token": "t", "expires_in": 300, "refresh_token": "r",
                         "token_type": "Bearer"})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    responses.get(f"{KC}/admin/realms/r/users/1", status=status,
                  json={"errorMessage": "error-invalid-length Keycloak-internal text"})
    with pytest.raises(domain.DirectoryError) as caught:
        gateway.get("/r/users/1")
    assert type(caught.value) is not domain.DirectoryError or kind is domain.DirectoryError
    assert isinstance(caught.value, kind)
    specific = (domain.Refused, domain.NotFound, domain.Duplicate, domain.TooLarge,
                domain.Unavailable)
    if kind is domain.DirectoryError:
        assert not isinstance(caught.value, specific)
    # What a client may read is the bridge's words, never Keycloak's text.
    assert "Keycloak-internal" not in caught.value.words
    assert "error-" not in caught.value.words


def test_a_gateway_error_made_with_a_status_is_that_status_class() -> None:
    refused = kc.GatewayError("bad", status=400, detail="error-username-invalid-character")
    assert isinstance(refused, domain.Refused) and refused.status == 400
    assert refused.words == "The userName holds a character the directory does not accept"
    assert not refused.read_only
    assert kc.GatewayError("ro", status=400, detail="error-user-attribute-read-only").read_only
    assert isinstance(kc.GatewayError("big", status=413), domain.TooLarge)
    failed = kc.GatewayError("smtp", status=500, detail="Failed to send")
    assert not isinstance(failed, domain.Refused | domain.TooLarge | domain.Unavailable)
    checked = kc.Refused("long", field="username", reason="is longer than 255 characters")
    assert (checked.field, checked.words) == ("username",
                                              "username is longer than 255 characters")
    assert kc.Conflict("c", detail="User exists with same email").words == (
        "The e-mail address is already used by another user")


# -- SCIM: the same answers for the domain's errors and the gateway's ------------------------

SCIM_ANSWERS: list[tuple[Exception, int, str | None]] = [
    (domain.Unavailable("down"), 503, None),
    (kc.Unavailable("down"), 503, None),
    (domain.Duplicate("taken"), 409, "uniqueness"),
    (kc.Conflict("taken", detail="User exists with same username"), 409, "uniqueness"),
    (domain.Refused("refused"), 400, "invalidValue"),
    (kc.GatewayError("refused", status=400, detail="error-invalid-email"), 400,
     "invalidValue"),
    (domain.TooLarge("big"), 413, None),
    (kc.GatewayError("big", status=413), 413, None),
    (domain.DirectoryError("failed"), 503, None),
    (kc.GatewayError("failed", status=500, detail="NullPointerException"), 503, None),
    (domain.NotFound("gone"), 404, None),
    (kc.NotFound("gone"), 404, None),
]


@pytest.mark.parametrize(("failure", "status", "scim_type"), SCIM_ANSWERS,
                         ids=lambda v: type(v).__module__.split(".")[1]
                         + "." + type(v).__name__ if isinstance(v, Exception) else str(v))
def test_scim_maps_the_domains_errors(monkeypatch: pytest.MonkeyPatch, failure: Exception,
                                      status: int, scim_type: str | None) -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(provisioning_users.kc_users, "get", failing)
    backend = KeycloakScimBackend(None, "r", retry_after=7)  # type: ignore[arg-type]
    app = Flask(__name__)
    app.register_blueprint(create_scim_blueprint(backend, lambda header: Subject("c")))
    answer = app.test_client().get("/scim/v2/Users/1", headers={"Authorization": "Bearer t"})
    body = answer.get_json()
    assert (answer.status_code, body["status"], body.get("scimType")) == (
        status, str(status), scim_type)
    if status == 503:
        assert answer.headers["Retry-After"] == "7"
    text = answer.get_data(as_text=True)
    assert "NullPointer" not in text and "error-" not in text and "same username" not in text


# -- the API: the same answers for a directory that raises only the domain's errors ------

@pytest.mark.parametrize(("method", "failure", "status", "code"), [
    ("create", domain.Duplicate("taken"), 409, "already-exists"),
    ("create", domain.Refused("refused"), 400, "invalid-value"),
    ("create", domain.TooLarge("big"), 413, "payload-too-large"),
    ("find_by_email", domain.Unavailable("down"), 503, "keycloak-unavailable"),
    ("find_by_email", domain.DirectoryError("failed"), 503, "keycloak-error"),
    ("send_actions", domain.Refused("bad redirect"), 400, "invalid-request"),
    ("send_actions", domain.DirectoryError("smtp"), 503, "mail-unavailable"),
])
def test_the_api_maps_the_domains_errors(method: str, failure: Exception, status: int,
                                         code: str) -> None:
    api = Api()
    admin = api.person("anna", "administrator")
    api.directory.fail[method] = failure
    answer = api.call("POST", "/invitations", admin, _invite("a@example.com"))
    assert (answer.status_code, answer.get_json()["error"]) == (status, code)
    if status == 503:
        assert answer.headers["Retry-After"] == "7"
    assert api.directory.accounts.keys() == {admin}  # nothing half-written


def test_the_cli_says_a_directory_error_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    def failing(*args: Any, **kwargs: Any) -> None:
        raise domain.Unavailable("Keycloak unreachable at http://127.0.0.1:1")

    monkeypatch.setattr(cli.cli, "main", failing)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: Keycloak unreachable at \S+\n", err), err
