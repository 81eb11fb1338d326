"""deploy/kubernetes/: the bridge as N replicas next to a Keycloak Operator cluster.

Shape tests always run. The schema check runs `kubeconform -strict` when it is installed,
against schemas made from Kubernetes' own OpenAPI document (the k8s.io/kubernetes module,
fetched through the Go module proxy when `go` is there); the operator's `Keycloak` kind has
no published schema to check against and is skipped by kind only (its shape is tested).
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

from tests.support.k8s_schemas import write_schemas

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "deploy" / "kubernetes"
KUBERNETES_MODULE = "k8s.io/kubernetes@v1.34.2"


def _documents() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    return _documents()


def _pinned_keycloak_version() -> str:
    text = (REPO / "bridge" / "local" / "keycloak.py").read_text(encoding="utf-8")
    match = re.search(r'^KEYCLOAK_VERSION = "([^"]+)"', text, re.MULTILINE)
    assert match
    return match.group(1)


def test_manifests_hold_the_expected_kinds(docs: dict[str, dict[str, Any]]) -> None:
    assert set(docs) == {"Keycloak/keycloak", "Deployment/bridge", "Service/bridge",
                         "PodDisruptionBudget/bridge", "HorizontalPodAutoscaler/bridge",
                         "Job/realm-apply"}


def test_keycloak_is_an_operator_cluster_on_postgres(docs: dict[str, dict[str, Any]]) -> None:
    keycloak = docs["Keycloak/keycloak"]
    assert keycloak["apiVersion"] == "k8s.keycloak.org/v2alpha1"
    spec = keycloak["spec"]
    assert spec["instances"] >= 2
    assert spec["image"] == f"quay.io/keycloak/keycloak:{_pinned_keycloak_version()}"
    assert spec["db"]["vendor"] == "postgres"
    for key in ("usernameSecret", "passwordSecret"):
        assert set(spec["db"][key]) == {"name", "key"}  # from a Secret, never inline
    assert spec["hostname"]["hostname"].startswith("https://")


def _container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    [container] = docs["Deployment/bridge"]["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_bridge_deployment_probes_and_replicas(docs: dict[str, dict[str, Any]]) -> None:
    deployment = docs["Deployment/bridge"]
    assert deployment["spec"]["replicas"] >= 2
    container = _container(docs)
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert port == 8000  # the image's gunicorn bind
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_pods_are_given_longer_than_the_servers_graceful_shutdown(
        docs: dict[str, dict[str, Any]]) -> None:
    # Kubernetes kills the pod when its grace period ends: were it not longer than the
    # server's own graceful timeout, requests in flight on SIGTERM would be cut.
    from bridge.server import GRACEFUL_TIMEOUT

    pod = docs["Deployment/bridge"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > GRACEFUL_TIMEOUT


def test_bridge_replicas_share_issuer_secrets_and_lock_backend(
        docs: dict[str, dict[str, Any]]) -> None:
    env = {e["name"]: e for e in _container(docs)["env"]}
    hostname = docs["Keycloak/keycloak"]["spec"]["hostname"]["hostname"]
    realm = env["BRIDGE_REALM"]["value"]
    assert env["BRIDGE_TOKEN_ISSUERS"]["value"] == f"{hostname}/realms/{realm}"
    assert env["KEYCLOAK_URL"]["value"] == "http://keycloak-service:8080"
    for name in ("BRIDGE_CLIENT_SECRET", "BRIDGE_LOCK_URL"):
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "bridge-secrets"
    for name, entry in env.items():
        if re.search(r"SECRET|PASSWORD|TOKEN$", name):
            assert "value" not in entry, name


def test_disruption_budget_and_autoscaler_target_the_bridge(
        docs: dict[str, dict[str, Any]]) -> None:
    labels = docs["Deployment/bridge"]["spec"]["template"]["metadata"]["labels"]
    pdb = docs["PodDisruptionBudget/bridge"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] == 1
    hpa = docs["HorizontalPodAutoscaler/bridge"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "bridge"}
    assert hpa["spec"]["minReplicas"] >= 2 > pdb["spec"]["minAvailable"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    service = docs["Service/bridge"]
    assert service["spec"]["selector"].items() <= labels.items()


def _kubernetes_swagger() -> Path | None:
    given = os.environ.get("KUBERNETES_SWAGGER")
    if given:
        return Path(given)
    go = shutil.which("go")
    if go is None:
        return None
    result = subprocess.run([go, "mod", "download", "-json", KUBERNETES_MODULE],
                            capture_output=True, text=True, timeout=300, check=False,
                            cwd=os.environ.get("TMPDIR", "/tmp"))
    if result.returncode != 0:
        return None
    swagger = Path(json.loads(result.stdout)["Dir"]) / "api" / "openapi-spec" / "swagger.json"
    return swagger if swagger.is_file() else None


def test_manifests_pass_kubeconform(tmp_path: Path) -> None:
    kubeconform = shutil.which("kubeconform")
    if kubeconform is None:
        pytest.skip("kubeconform is not installed (go install "
                    "github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0)")
    swagger = _kubernetes_swagger()
    if swagger is None:
        pytest.skip(f"no Kubernetes OpenAPI document ({KUBERNETES_MODULE}) to make schemas of")
    write_schemas(swagger, tmp_path)
    result = subprocess.run(
        [kubeconform, "-strict", "-summary", "-output", "json",
         "-schema-location", str(tmp_path / "{{.ResourceKind}}{{.KindSuffix}}.json"),
         "-skip", "Keycloak", str(MANIFESTS)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary == {"valid": 5, "invalid": 0, "errors": 0, "skipped": 1}
