"""The README's CLI examples, run as written, in order, against the dev configuration.

The realm is built the way ``./dev up`` builds it (``realm-config/`` plus the default
catalog, by :func:`bridge.local.devstack.load_dev_realm` and ``apply_dev_realm``), on the
test Keycloak. Each example line of the README's "Invitations, lifecycle" section runs in
bash after that section's set-up lines (``source .venv/bin/activate``, ``eval "$(bridge dev
--print-env)"``), with the dev settings file the way ``./dev up`` leaves it. Every line
must exit as documented (0, or the ``# exit N`` its comment says) and have its effect,
checked in Keycloak, on stdout or in the mail sink. A README line this test does not know
fails it: the README cannot drift from what runs.

The portal-token recipe runs too: its shell lines as written (PKCE pair, authorization URL,
code exchange, the API call), the browser's part (activation link, sign-in) done by the
test's browserless client, the bridge served as ``./dev up`` configures it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.serving import make_server

from bridge.app import create_app
from bridge.keycloak import realm as kc_realm
from bridge.local import devstack
from bridge.local.keycloak import free_port
from bridge.local.mailsink import MailSink
from tests.conftest import ROOT, KeycloakUnderTest, realm_env
from tests.support.login import Browserless

README = ROOT / "README.md"
SECTION = "## Invitations, lifecycle and delegated administration"
EMAIL = "ana@example.com"


def readme_blocks() -> list[list[str]]:
    """The ``sh`` blocks of the README's CLI section (up to its first sub-section, the
    portal-token recipe, which needs a browser), as lists of lines."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[:min(section.index("\n## ", len(SECTION)),
                           section.index("\n### ", len(SECTION)))]
    return [block.strip("\n").splitlines()
            for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)]


def expected_exit(line: str) -> int:
    found = re.search(r"#.*\bexit (\d+)\b", line)
    return int(found.group(1)) if found else 0


def command(line: str) -> str:
    """The line without its comment, spaces collapsed."""
    return " ".join(line.split("#", 1)[0].split())


@dataclass
class DevStack:
    keycloak: KeycloakUnderTest
    realm: str
    env: dict[str, str]
    mail: MailSink
    settings: dict[str, str]
    """The settings ``./dev up`` runs with (its environment and generated secrets)."""

    def user(self) -> dict[str, Any] | None:
        found = self.keycloak.admin().get(f"/{self.realm}/users", email=EMAIL, exact="true")
        return found[0] if found else None

    def groups(self) -> list[str]:
        user = self.user()
        assert user is not None
        return sorted(g["path"] for g in self.keycloak.admin().get(
            f"/{self.realm}/users/{user['id']}/groups"))

    def mails(self) -> int:
        return sum(EMAIL in mail.to for mail in self.mail.messages())


@pytest.fixture
def dev_stack(keycloak: KeycloakUnderTest, mail_sink: MailSink,
              tmp_path: Path) -> Iterator[DevStack]:
    """A realm built as ``./dev up`` builds it, and the dev settings file it leaves."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    env = {**realm_env(mail_sink), "BRIDGE_REALM": name, "HR_SCIM_CLIENT_SECRET": "hr-s3cret",
           "BRIDGE_SCIM_DEV_TOKEN": "dev-token",
           "BRIDGE_SESSION_SECRET": "a-dev-session-secret-long-enough-0123",
           "KC_BOOTSTRAP_ADMIN_USERNAME":
           keycloak.admin_username, "KC_BOOTSTRAP_ADMIN_PASSWORD": keycloak.admin_password}
    config, the_catalog, catalog_dir = devstack.load_dev_realm(env, ROOT / "realm-config")
    assert catalog_dir == devstack.DEFAULT_CATALOG
    assert config.realm == name
    devstack.apply_dev_realm(keycloak.admin(), config, the_catalog, print)
    cache = tmp_path / "cache"
    cache.mkdir()
    stored = (*devstack.GENERATED, "KC_BOOTSTRAP_ADMIN_USERNAME")
    (cache / "dev.env").write_text("".join(f"{k}={env[k]}\n" for k in stored))
    shell_env = {k: v for k, v in os.environ.items()
                 if not k.startswith(("BRIDGE_", "KEYCLOAK_", "KC_"))}
    shell_env.update({"BRIDGE_CACHE_DIR": str(cache), "KEYCLOAK_URL": keycloak.url,
                      "BRIDGE_REALM": name, "SMTP_HOST": env["SMTP_HOST"],
                      "SMTP_PORT": env["SMTP_PORT"], "SMTP_FROM": env["SMTP_FROM"]})
    try:
        yield DevStack(keycloak, name, shell_env, mail_sink, env)
    finally:
        kc_realm.delete(keycloak.admin(), name)


def _setup_line(line: str) -> str:
    """A set-up line as written; the virtualenv is this interpreter's when the checkout's
    ``.venv`` is not the one running (``BRIDGE_VENV``)."""
    if line.startswith("source .venv/bin/activate") and not (ROOT / ".venv").is_dir():
        return f"source {Path(sys.executable).parent / 'activate'}"
    return line


Check = Callable[[DevStack, subprocess.CompletedProcess[str]], None]


def _plan_is_empty(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    assert "No changes" in done.stdout, done.stdout


def _invited(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    assert done.stdout.startswith(f"invited: {EMAIL}")
    user = stack.user()
    assert user is not None and user["enabled"] and "UPDATE_PASSWORD" in user["requiredActions"]
    assert user["attributes"]["locale"] == ["fr"]
    assert stack.groups() == ["/bridge/catalog/profile/document-delivery",
                              "/bridge/catalog/status/client-user"]
    assert user["attributes"]["tenants"] == ["dossier-acme"]
    stack.mail.wait_for(EMAIL)


def _listed(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    header, line = done.stdout.splitlines()[:2]
    assert header.split() == ["ID", "STATE", "EMAIL", "STATUS", "EXPIRES"]
    assert line.split()[1:4] == ["pending", EMAIL, "client-user"]


def _shown(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    assert "status:           client-user" in done.stdout
    assert "permissions in dossier-acme:" in done.stdout
    assert "documents.view-own  profile 'document-delivery'" in done.stdout


def _full_access(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    user = stack.user()
    assert user is not None and user["attributes"]["profiles"] == ["full-access"]
    assert "payments.use@dossier-acme" in user["attributes"]["permissions"] or \
        "payments.use" in user["attributes"]["permissions"]


def _moved(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    user = stack.user()
    assert user is not None and user["attributes"]["tenants"] == ["dossier-carpentry"]
    # Carpentry enables the Financial menu: the permission follows the dossier.
    assert "financial.view" in user["attributes"]["permissions"]


def _unchanged(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    assert done.stdout.startswith(f"unchanged: {EMAIL}")


def _shown_json(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    shown = json.loads(done.stdout)
    assert (shown["status"], shown["profiles"], shown["tenants"]) == (
        "client-user", ["full-access"], ["dossier-carpentry"])
    (access,) = shown["access"]
    granted = {p["permission"]: p["granted_by"] for p in access["permissions"]}
    assert granted["financial.view"] == "profile 'full-access'"


def _resent(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    assert done.stdout.startswith(f"resent: {EMAIL}")
    assert stack.mails() == 2


def _deactivated(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    user = stack.user()
    assert user is not None and user["enabled"] is False


def _reactivated(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    user = stack.user()
    assert user is not None and user["enabled"] is True


def _revoked(stack: DevStack, done: subprocess.CompletedProcess[str]) -> None:
    assert stack.user() is None


EFFECTS: dict[str, Check] = {
    'bridge realm plan realm-config "$BRIDGE_CATALOG"': _plan_is_empty,
    f"bridge invite {EMAIL} --status client-user --profile document-delivery --tenant "
    "dossier-acme --language fr": _invited,
    "bridge invitations list": _listed,
    f"bridge user show {EMAIL}": _shown,
    f"bridge user set {EMAIL} --profile full-access": _full_access,
    f"bridge user set {EMAIL} --tenant dossier-carpentry --remove-tenant dossier-acme": _moved,
    f"bridge user show {EMAIL} --output json": _shown_json,
    f"bridge invitations resend {EMAIL}": _resent,
    f"bridge user deactivate {EMAIL}": _deactivated,
    f"bridge user reactivate {EMAIL}": _reactivated,
    f"bridge invitations revoke {EMAIL}": _revoked,
}
"""What each README example does, as a user would check it."""


def test_the_readmes_cli_examples_run_in_order_on_the_dev_configuration(
        dev_stack: DevStack) -> None:
    setup: list[str] = []
    examples = 0
    seen: set[str] = set()
    for block in readme_blocks():
        for line in block:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line.startswith("bridge "):
                setup.append(_setup_line(command(line)))
                continue
            script = "\n".join(["set -euo pipefail", *setup, line])
            done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=dev_stack.env,
                                  capture_output=True, text=True, timeout=180, check=False)
            assert done.returncode == expected_exit(line), (
                f"{line}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}")
            key = command(line)
            if key in seen and expected_exit(line) == 3:
                _unchanged(dev_stack, done)
            else:
                assert key in EFFECTS, f"README example without a checked effect: {key}"
                EFFECTS[key](dev_stack, done)
            seen.add(key)
            examples += 1
    assert setup[:2] == ["source .venv/bin/activate", 'eval "$(bridge dev --print-env)"'] \
        or setup[1] == 'eval "$(bridge dev --print-env)"'
    assert examples >= len(EFFECTS)
    assert seen == set(EFFECTS)


PORTAL = "### A portal user's token in dev, to call `/api/v1`"
ME = "me@example.com"
MY_PASSWORD = "Chosen-in-the-recipe-7"


def portal_recipe() -> list[str]:
    """The README's portal-token recipe: its one ``sh`` block, comments dropped."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(PORTAL):]
    end = re.search(r"\n#{2,3} ", section[len(PORTAL):])
    section = section[:len(PORTAL) + end.start()] if end else section
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


@contextmanager
def _serve(stack: DevStack) -> Iterator[int]:
    """The bridge as ``./dev up`` configures it, on a free loopback port."""
    app = create_app(devstack.dev_settings(
        stack.settings, keycloak_url=stack.keycloak.url, realm=stack.realm,
        catalog_dir=devstack.DEFAULT_CATALOG, dev_token="dev-token"))
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_the_readmes_portal_token_recipe_calls_the_api(dev_stack: DevStack) -> None:
    setup = ["set -euo pipefail", "source .venv/bin/activate", 'eval "$(bridge dev --print-env)"']
    setup = [_setup_line(line) for line in setup]
    invite, *recipe = portal_recipe()
    assert invite.startswith(f"bridge invite {ME} --status firm-staff")
    done = subprocess.run(["bash", "-c", "\n".join([*setup, invite])], cwd=ROOT,
                          env=dev_stack.env, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, done.stderr
    # "follow the activation link, choose a password"
    link = next(u for u in dev_stack.mail.wait_for(ME).links
                if "/login-actions/action-token" in u)
    Browserless().follow_action_link(link, new_password=MY_PASSWORD)

    with _serve(dev_stack) as port:
        # The recipe's lines as written, the code typed where it says CODE, the bridge on
        # this test's port instead of 8000.
        lines = [line.replace("code=CODE", 'code="$code"')
                 .replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{port}/")
                 for line in recipe]
        echo = next(i for i, line in enumerate(lines) if line.startswith("echo "))
        script = "\n".join([*setup, *lines[:echo + 1], "read -r code", *lines[echo + 1:]])
        shell = subprocess.Popen(["bash", "-c", script], cwd=ROOT, env=dev_stack.env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert shell.stdout is not None and shell.stdin is not None
        url = shell.stdout.readline().strip()
        assert url.startswith(f"{dev_stack.keycloak.url}/realms/{dev_stack.realm}/protocol/")
        # "open that URL, sign in; the browser ends on http://127.0.0.1:3000/?...&code=CODE"
        back = Browserless().sign_in_at(url, ME, MY_PASSWORD)
        code = parse_qs(urlsplit(back).query)["code"][0]
        out, err = shell.communicate(code + "\n", timeout=120)
    assert shell.returncode == 0, err
    answer = json.loads(out)
    assert answer["items"] == [] and answer["first"] == 0, answer  # a firm collaborator's view
