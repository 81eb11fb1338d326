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
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
KEYCLOAK_MODULE = REPO / "bridge" / "local" / "keycloak.py"
DOCKERFILE = REPO / "Dockerfile"
PYPROJECT = REPO / "pyproject.toml"
# The seed catalog compose serves and applies unless BRIDGE_CATALOG says otherwise.
DEFAULT_CATALOG = "/app/realm-config/examples/004-accounting-portal"

SECRET_VARIABLES = (
    "POSTGRES_PASSWORD",
    "KEYCLOAK_ADMIN_USERNAME",
    "KEYCLOAK_ADMIN_PASSWORD",
    "BRIDGE_CLIENT_SECRET",
    "BRIDGE_SESSION_SECRET",
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
    assert realm_apply["command"] == ["bridge", "realm", "apply", "/app/realm-config",
                                      DEFAULT_CATALOG]
    assert realm_apply["depends_on"]["keycloak"]["condition"] == "service_healthy"
    assert realm_apply["restart"] == "no"
    bridge = services["bridge"]
    assert bridge["depends_on"]["realm-apply"]["condition"] == ("service_completed_successfully")
    assert "/readyz" in " ".join(bridge["healthcheck"]["test"])
    assert bridge["environment"]["BRIDGE_REALM"] == "access"
    assert bridge["environment"]["KEYCLOAK_URL"] == "http://keycloak:8080"


def test_secrets_come_from_the_env_file(config: dict[str, Any]) -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    env = config["services"]["bridge"]["environment"]
    assert env["BRIDGE_CLIENT_SECRET"] == example["BRIDGE_CLIENT_SECRET"]
    assert env["BRIDGE_CATALOG"] == DEFAULT_CATALOG
    for name in ("KEYCLOAK_ADMIN_USERNAME", "KEYCLOAK_ADMIN_PASSWORD", "HR_SCIM_CLIENT_SECRET"):
        assert name not in env  # the server's own service account only
    apply_env = config["services"]["realm-apply"]["environment"]
    for name in ("KEYCLOAK_ADMIN_PASSWORD", "BRIDGE_CLIENT_SECRET", "HR_SCIM_CLIENT_SECRET"):
        assert apply_env[name] == example[name]
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
    assert re.search(r"^FROM python:3\.11\.\d+-slim", text, re.MULTILINE)
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


# -- packaging: pinned images, readiness probes, least secret, a catalog, no dev deps ------
# Read from the files themselves (YAML, TOML, Dockerfile text), so they run where `docker`
# is missing, as here.

# An exact release (v1.22.3, 1.27.5, 26.7.5; PostgreSQL numbers its releases MAJOR.MINOR:
# 16.10), optionally with a variant (-bookworm) and its digest.
_EXACT_TAG = re.compile(r"^(postgres:\d+\.\d+|[\w./-]+:v?\d+\.\d+\.\d+)(-[a-z0-9.]+)*"
                        r"(@sha256:[0-9a-f]{64})?$")
LOCAL_IMAGE = "saas-access-bridge:local"  # built from the Dockerfile, whose FROM is pinned
BRIDGE_SERVERS = ("bridge", "bridge-1", "bridge-2")


def _referenced_variables(environment: dict[str, Any]) -> set[str]:
    """The compose variables (``${NAME...}``) a service's environment is filled from."""
    return {name for value in environment.values()
            for name in re.findall(r"\$\{(\w+)", str(value))}


def test_every_image_is_an_exact_version() -> None:
    services = _raw_compose()["services"]
    images = {name: s["image"] for name, s in services.items() if "image" in s}
    assert set(images) == set(services)  # every service names its image
    for name, image in images.items():
        if image == LOCAL_IMAGE:
            assert services[name].get("build") or name.startswith("bridge-"), name
            continue
        assert _EXACT_TAG.match(image), f"{name}: {image} is not an exact version"
    [base] = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert _EXACT_TAG.match(base), f"Dockerfile FROM {base} is not an exact version"


def test_healthchecks_probe_readiness() -> None:
    services = _raw_compose()["services"]
    for name in BRIDGE_SERVERS:
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert "http://127.0.0.1:8000/readyz" in probe, name
        assert "/healthz" not in probe, name
    for name in ("keycloak", "keycloak-2"):
        service = services[name]
        assert "--health-enabled=true" in service["command"], name
        probe = " ".join(service["healthcheck"]["test"])
        assert "/dev/tcp/127.0.0.1/9000" in probe and "GET /health/ready " in probe, name
        assert '" 200 "' in probe, name  # a 503 (not ready) fails the probe
    # Who waits on whom: the apply job on a ready Keycloak, the balancer on ready bridges.
    assert services["realm-apply"]["depends_on"]["keycloak"]["condition"] == "service_healthy"
    assert {c["condition"] for c in services["lb"]["depends_on"].values()} == {
        "service_healthy"}


def test_the_bridge_gets_only_its_own_service_account_secret() -> None:
    services = _raw_compose()["services"]
    for name in BRIDGE_SERVERS:
        env = services[name]["environment"]
        assert not any(key.startswith("KEYCLOAK_ADMIN") or key.startswith("KC_BOOTSTRAP")
                       for key in env), name
        secrets_given = _referenced_variables(env) & set(SECRET_VARIABLES)
        # Replicas also share the lock database (BRIDGE_LOCK_URL): its password, nothing more;
        # and the review pages' session key (BRIDGE_SESSION_SECRET), the bridge's own.
        allowed = {"BRIDGE_CLIENT_SECRET", "BRIDGE_SESSION_SECRET"} | (
            {"POSTGRES_PASSWORD"} if name != "bridge" else set())
        assert secrets_given <= allowed, (name, secrets_given)
        assert "BRIDGE_CLIENT_SECRET" in secrets_given, name
    apply_env = services["realm-apply"]["environment"]
    assert {"KEYCLOAK_ADMIN_USERNAME", "KEYCLOAK_ADMIN_PASSWORD", "BRIDGE_CLIENT_SECRET",
            "HR_SCIM_CLIENT_SECRET"} <= _referenced_variables(apply_env)
    assert services["realm-apply"]["restart"] == "no"  # one shot, then the admin login is gone


def test_a_catalog_is_served_and_applied() -> None:
    services = _raw_compose()["services"]
    default = "${BRIDGE_CATALOG:-" + DEFAULT_CATALOG + "}"
    for name in BRIDGE_SERVERS:
        assert services[name]["environment"]["BRIDGE_CATALOG"] == default, name
    # realm-apply applies the same catalog's groups and roles as the realm's.
    assert services["realm-apply"]["command"] == [
        "bridge", "realm", "apply", "/app/realm-config", default]
    # The image copies realm-config/ to /app/realm-config: the default seed is in it.
    assert "COPY realm-config /app/realm-config" in DOCKERFILE.read_text(encoding="utf-8")
    in_repo = REPO / Path(DEFAULT_CATALOG).relative_to("/app")
    assert (in_repo / "catalog.yaml").is_file(), in_repo


def _pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_dev_and_test_dependencies_are_extras_out_of_the_image() -> None:
    project = _pyproject()["project"]
    runtime = _names(project["dependencies"])
    assert not runtime & {"aiosmtpd", "pytest", "ruff", "playwright"}, runtime
    assert "joserfc" in runtime  # bridge/auth validates tokens with it at run time
    # The access-request review pages sign people in with authlib's Flask client.
    assert "authlib" in runtime
    extras = project["optional-dependencies"]
    assert "aiosmtpd" in _names(extras["dev"])
    text = DOCKERFILE.read_text(encoding="utf-8")
    [install] = re.findall(r"^RUN pip install .*$", text, re.MULTILINE)
    assert "[" not in install  # no extras in the runtime image
    assert "--constraint /tmp/src/constraints.txt" in install


def test_runtime_modules_import_without_the_dev_extras() -> None:
    # Every module of the shipped packages imports with aiosmtpd absent, the CLI
    # answers --help, and the mail sink says in one line what it lacks.
    script = r"""
import importlib, pkgutil, sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("aiosmtpd",):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Absent())
import bridge, scim
for package in (bridge, scim):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith(".__main__"):  # runs the CLI when imported
            importlib.import_module(info.name)
from bridge.local.keycloak import MissingPiece
from bridge.local.mailsink import MailSink
try:
    MailSink().start()
except MissingPiece as exc:
    print("sink:", exc)
from bridge.cli import cli
cli.main(["--help"], prog_name="bridge")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "sink: the mail sink needs the dev extra" in result.stdout
    assert "Usage: bridge" in result.stdout
