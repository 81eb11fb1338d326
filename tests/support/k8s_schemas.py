"""Write kubeconform's schema files for some Kubernetes kinds from Kubernetes' own OpenAPI
document (``api/openapi-spec/swagger.json`` of the kubernetes sources, for machines that
cannot reach kubeconform's default schema repository).

    python -m tests.support.k8s_schemas swagger.json OUT_DIR
    kubeconform -strict -schema-location 'OUT_DIR/{{.ResourceKind}}{{.KindSuffix}}.json' ...

Each file is the kind's definition made strict as kubeconform's ``-strict`` schemas are
(``additionalProperties: false`` where properties are listed, int-or-string as a oneOf),
with every definition it may refer to carried along under ``definitions``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

KINDS = ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job")


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("format") == "int-or-string":
            return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        out = {k: _strict(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def write_schemas(swagger: Path, out: Path, kinds: tuple[str, ...] = KINDS) -> list[Path]:
    definitions = json.loads(swagger.read_text())["definitions"]
    strict = _strict(definitions)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            if gvk["kind"] not in kinds:
                continue
            group = gvk["group"].split(".")[0]
            suffix = f"-{group}-{gvk['version']}" if group else f"-{gvk['version']}"
            path = out / f"{gvk['kind'].lower()}{suffix}.json"
            schema = {**strict[name], "definitions": strict}
            # apiVersion/kind must be these exact values in a document of this kind.
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            schema["properties"] = {**schema["properties"],
                                    "apiVersion": {"enum": [api_version]},
                                    "kind": {"enum": [gvk["kind"]]}}
            path.write_text(json.dumps(schema))
            written.append(path)
    return written


if __name__ == "__main__":
    for written in write_schemas(Path(sys.argv[1]), Path(sys.argv[2])):
        print(written)
