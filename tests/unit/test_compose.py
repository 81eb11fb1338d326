"""docker-compose.yml stays valid, pins the project's Keycloak and publishes on loopback only.

Needs only the `docker` CLI with its compose plugin (`docker compose config` talks to no
daemon and pulls nothing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
KEYCLOAK_MODULE = REPO / "bridge" / "local" / "keycloak.py"

SECRET_VARIABLES = (
    "POSTGRES_PASSWORD",
    "KEYCLOAK_ADMIN_USERNAME",
    "KEYCLOAK_ADMIN_PASSWORD",
    "BRIDGE_CLIENT_SECRET",
    "HR_SCIM_CLIENT_SECRET",
)


def _docker() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the `docker` CLI is not installed: cannot run `docker compose config`")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60
    )
    if probe.returncode != 0:
        pytest.skip(
            "the `docker` CLI has no compose plugin (`docker compose version` failed: "
            f"{(probe.stderr or probe.stdout).strip()[:200]})"
        )
    return docker


def _compose_config(env_file: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    docker = _docker()
    # A minimal environment: variables of the developer's shell (or CI) must not fill in
    # the compose file; HOME/DOCKER_CONFIG are kept so a per-user compose plugin is found.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_CONFIG")}
    return subprocess.run(
        [
            docker,
            "compose",
            "--project-directory",
            str(REPO),
            "--file",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    env_file = tmp_path / "compose.env"
    shutil.copyfile(ENV_EXAMPLE, env_file)
    result = _compose_config(env_file, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _pinned_keycloak_version() -> str:
    match = re.search(
        r"""^KEYCLOAK_VERSION\s*(?::\s*\w+\s*)?=\s*["']([^"']+)["']""",
        KEYCLOAK_MODULE.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert match, f"no KEYCLOAK_VERSION = '...' in {KEYCLOAK_MODULE}"
    return match.group(1)


def test_keycloak_image_matches_pinned_version(config: dict[str, Any]) -> None:
    image = config["services"]["keycloak"]["image"]
    name, _, tag = image.rpartition(":")
    assert name == "quay.io/keycloak/keycloak"
    assert tag == _pinned_keycloak_version()


def test_every_published_port_binds_loopback(config: dict[str, Any]) -> None:
    published = []
    for service_name, service in config["services"].items():
        for port in service.get("ports", []):
            published.append((service_name, port))
            assert port.get("host_ip") == "127.0.0.1", (service_name, port)
            assert port.get("published"), (service_name, port)  # no random host port
    assert {name for name, _ in published} >= {"keycloak", "bridge", "mailpit"}


def test_services_and_startup_order(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) >= {"postgres", "keycloak", "mailpit", "realm-apply", "bridge"}
    keycloak = services["keycloak"]
    assert keycloak["command"][0] == "start"
    assert {"--db=postgres", "--health-enabled=true", "--http-enabled=true"} <= set(
        keycloak["command"]
    )
    probe = " ".join(keycloak["healthcheck"]["test"])
    assert "/dev/tcp/127.0.0.1/9000" in probe and "GET /health/ready " in probe
    realm_apply = services["realm-apply"]
    assert realm_apply["command"] == ["bridge", "realm", "apply", "/app/realm-config"]
    assert realm_apply["depends_on"]["keycloak"]["condition"] == "service_healthy"
    assert realm_apply["restart"] == "no"
    bridge = services["bridge"]
    assert bridge["depends_on"]["realm-apply"]["condition"] == ("service_completed_successfully")
    assert "/healthz" in " ".join(bridge["healthcheck"]["test"])
    assert bridge["environment"]["BRIDGE_REALM"] == "access"
    assert bridge["environment"]["KEYCLOAK_URL"] == "http://keycloak:8080"


def test_secrets_come_from_the_env_file(config: dict[str, Any]) -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    env = config["services"]["bridge"]["environment"]
    for name in ("KEYCLOAK_ADMIN_PASSWORD", "BRIDGE_CLIENT_SECRET", "HR_SCIM_CLIENT_SECRET"):
        assert env[name] == example[name]
    kc_env = config["services"]["keycloak"]["environment"]
    assert kc_env["KC_DB_PASSWORD"] == example["POSTGRES_PASSWORD"]
    assert kc_env["KC_BOOTSTRAP_ADMIN_PASSWORD"] == example["KEYCLOAK_ADMIN_PASSWORD"]


def test_compose_file_hard_codes_no_secret() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in SECRET_VARIABLES:
        assert re.search(rf"\$\{{{name}:\?[^}}]+\}}", text), f"{name} must be required"
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and re.search(r"PASSWORD|SECRET", key):
            assert value.strip().startswith("${"), line


def test_missing_variables_make_config_fail(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("", encoding="utf-8")
    result = _compose_config(empty, tmp_path)
    assert result.returncode != 0
    # Compose names the first missing variable it meets, in no fixed order.
    required = (*SECRET_VARIABLES, "PORTAL_URL")
    assert any(f"required variable {name} is missing" in result.stderr
               for name in required), result.stderr


def test_dockerfile_runs_the_production_server_as_non_root() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    # `bridge serve` is gunicorn configured by bridge/server.py (tests/integration/test_server.py).
    assert 'CMD ["bridge", "serve", "--host", "0.0.0.0", "--port", "8000"]' in text


# -- profile ha: PostgreSQL, two Keycloak nodes, two bridges, a load balancer -------------

HA_SERVICES = {"keycloak-2", "bridge-1", "bridge-2", "lb"}


def _raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _closure(services: dict[str, Any], name: str) -> set[str]:
    """``name`` and every service it depends on, transitively."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(services[current].get("depends_on") or {})
    return seen


def test_ha_profile_has_two_nodes_two_bridges_and_a_balancer() -> None:
    services = _raw_compose()["services"]
    in_profile = {n for n, s in services.items() if "ha" in (s.get("profiles") or [])}
    assert in_profile == HA_SERVICES
    # `docker compose --profile ha up lb` starts the whole HA shape and not the single bridge.
    assert _closure(services, "lb") == HA_SERVICES | {"postgres", "keycloak", "realm-apply",
                                                      "mailpit"}
    for node in ("keycloak", "keycloak-2"):
        # Keycloak's own health and Prometheus metrics, on its management port (9000).
        assert {"--health-enabled=true", "--metrics-enabled=true"} <= set(
            services[node]["command"])
        assert services[node]["image"] == services["keycloak"]["image"]
        assert services[node]["command"][0] == "start"
        assert "--db=postgres" in services[node]["command"]
        assert (services[node]["environment"]["KC_DB_URL"]
                == "jdbc:postgresql://postgres:5432/keycloak")  # one database, one cluster
    second = services["keycloak-2"]["command"]
    assert {"--cache=ispn", "--cache-stack=jdbc-ping", "--health-enabled=true"} <= set(second)
    # One issuer for the cluster: both nodes have the same public hostname.
    for name in ("KC_HOSTNAME", "KC_HOSTNAME_BACKCHANNEL_DYNAMIC"):
        assert (services["keycloak-2"]["environment"][name]
                == services["keycloak"]["environment"][name])


def test_ha_bridges_share_everything_but_their_keycloak_node() -> None:
    services = _raw_compose()["services"]
    one, two = (services[n]["environment"] for n in ("bridge-1", "bridge-2"))
    assert (one["KEYCLOAK_URL"], two["KEYCLOAK_URL"]) == ("http://keycloak:8080",
                                                          "http://keycloak-2:8080")
    assert {k: v for k, v in one.items() if k != "KEYCLOAK_URL"} == {
        k: v for k, v in two.items() if k != "KEYCLOAK_URL"}
    assert one["BRIDGE_LOCK_URL"].startswith("postgresql://keycloak:${POSTGRES_PASSWORD:?")
    assert one["BRIDGE_LOCK_URL"].endswith("@postgres:5432/keycloak")
    hostname = services["keycloak-2"]["environment"]["KC_HOSTNAME"]
    assert one["BRIDGE_TOKEN_ISSUERS"] == hostname + "/realms/${BRIDGE_REALM:-access}"
    for name in ("bridge-1", "bridge-2"):
        service = services[name]
        assert service["image"] == services["bridge"]["image"]
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["depends_on"]["realm-apply"]["condition"] == (
            "service_completed_successfully")


def test_ha_balancer_is_round_robin_over_both_bridges_on_loopback() -> None:
    compose = _raw_compose()
    lb = compose["services"]["lb"]
    assert lb["ports"] == ["127.0.0.1:${LB_PORT:-8100}:8080"]
    assert {d: c["condition"] for d, c in lb["depends_on"].items()} == {
        "bridge-1": "service_healthy", "bridge-2": "service_healthy"}
    [mount] = lb["configs"]
    conf = compose["configs"][mount["source"]]["content"]
    upstreams = re.findall(r"^\s*server (\S+:\d+)", conf, re.MULTILINE)
    assert upstreams == ["bridge-1:8000", "bridge-2:8000"]
    assert "proxy_pass http://bridges;" in conf
    # A request a replica may have received is never sent to another one.
    assert "proxy_next_upstream error timeout;" in conf
    assert "non_idempotent" not in conf


def test_ha_profile_passes_compose_config(tmp_path: Path) -> None:
    docker = _docker()
    env_file = tmp_path / "compose.env"
    shutil.copyfile(ENV_EXAMPLE, env_file)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_CONFIG")}
    result = subprocess.run(
        [docker, "compose", "--project-directory", str(REPO), "--file", str(COMPOSE_FILE),
         "--env-file", str(env_file), "--profile", "ha", "config", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    services = config["services"]
    assert HA_SERVICES <= set(services)
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", (name, port)
    example = dict(line.split("=", 1)
                   for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.lstrip().startswith("#"))
    lock_url = services["bridge-2"]["environment"]["BRIDGE_LOCK_URL"]
    assert lock_url == (f"postgresql://keycloak:{example['POSTGRES_PASSWORD']}"
                        "@postgres:5432/keycloak")
    assert services["keycloak-2"]["environment"]["KC_DB_PASSWORD"] == example[
        "POSTGRES_PASSWORD"]


def test_keycloak_writes_one_issuer_whoever_reaches_it() -> None:
    # Read as YAML, so it also runs where `docker compose` is missing. Without a hostname,
    # Keycloak writes the URL it was reached at into `iss`: http://keycloak:8080 for the
    # bridge, http://127.0.0.1:8080 for a client on the host (issue 10 finding 6).
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    keycloak = compose["services"]["keycloak"]
    env = keycloak["environment"]
    assert env["KC_HOSTNAME"] == "http://127.0.0.1:${KEYCLOAK_PORT:-8080}"  # as published
    assert str(env["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"]).lower() == "true"  # bridge's URL
    assert not any("hostname-strict=false" in str(arg) for arg in keycloak["command"])
    bridge_env = compose["x-bridge-environment"]
    assert bridge_env["KEYCLOAK_URL"] == "http://keycloak:8080"
    assert "BRIDGE_TOKEN_ISSUERS" not in bridge_env  # discovered from the realm: one issuer
