"""A bounded, seeded schemathesis run of ``/api/v1`` against its own OpenAPI document.

It asks one question: does the API do what its document says? Every operation gets
``examples`` generated cases per mode (schema-valid and schema-invalid), sent in-process
(WSGI) with the caller's bearer token; each answer is checked for a 5xx, a status code, a
content type, headers or a body the document does not describe, and for schema-invalid input
that is accepted. Malformed input beyond the schema (sizes, depth, encodings) is another
harness's business. Failures are collected, not raised, so one run reports every mismatch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode

CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance",
               "negative_data_rejection")


@dataclass
class Figures:
    cases: int = 0
    server_errors: int = 0
    mismatches: list[str] = field(default_factory=list)
    by_operation: Counter[str] = field(default_factory=Counter)
    unnegatable: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def distinct(self) -> list[str]:
        """One line per kind of mismatch (operation, status and check)."""
        return sorted({m.split("\n")[0] for m in self.mismatches})

    def summary(self) -> str:
        return (f"{self.cases} cases over {len(self.by_operation)} operations: "
                f"{len(self.mismatches)} schema mismatches, {self.server_errors} 5xx; "
                f"statuses {dict(sorted(self.statuses.items()))}")


def run(app: Any, headers: Callable[[], dict[str, str]], *, examples: int = 25,
        seed_value: int = 20261201, path_ids: Iterable[str] = (),
        known: Iterable[tuple[str, str, dict[str, Any]]] = (),
        document: str = "/api/v1/openapi.json") -> Figures:
    """Fuzz every operation of ``app``'s document; ``path_ids`` are ids of real users to put
    in ``{id}`` (one generated case in three uses one), and ``known`` are requests that
    succeed (``(method, path, Case fields)``), so answers other than refusals are checked
    too."""
    load_all_checks()
    checks = [c for c in CHECKS.get_all() if getattr(c, "__name__", "") in CHECK_NAMES]
    schema = schemathesis.openapi.from_wsgi(document, app)
    ids = list(path_ids)
    figures = Figures()
    for method, path, parts in known:  # the answers of requests that succeed, checked too
        figures.cases += 1
        figures.by_operation[f"{method} {path}"] += 1
        _check(schema[path][method].Case(**parts), f"{method} {path} [known]", figures,
               checks, headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so the ids stay there for the other operations.
    for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, figures, checks, headers, ids, examples, seed_value)
    return figures


def _check(case: Any, label: str, figures: Figures, checks: list[Any],
           headers: Callable[[], dict[str, str]]) -> None:
    response = case.call(headers=headers())
    figures.statuses[response.status_code] += 1
    if response.status_code >= 500:
        figures.server_errors += 1
    try:
        case.validate_response(response, checks=checks, headers=headers())
    except FailureGroup as group:
        for failure in group.exceptions:
            figures.mismatches.append(
                f"{label} {response.status_code}: {failure.title}: {failure.message[:300]} "
                f"(sent {case.method} {case.formatted_path})")


def _fuzz(operation: Any, mode: GenerationMode, figures: Figures, checks: list[Any],
          headers: Callable[[], dict[str, str]], ids: list[str], examples: int,
          seed_value: int) -> None:
    name = f"{operation.method.upper()} {operation.path}"
    strategy = operation.as_strategy(generation_mode=mode)

    @seed(seed_value)
    @settings(max_examples=examples, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def one(case: Any) -> None:
        if ids and "id" in (case.path_parameters or {}) and figures.cases % 3 == 0:
            case.path_parameters["id"] = ids[figures.cases // 3 % len(ids)]
        figures.cases += 1
        figures.by_operation[name] += 1
        _check(case, f"{name} [{mode.value}]", figures, checks, headers)

    try:
        one()
    except Unsatisfiable:  # nothing to negate (no parameter, no body): no negative case
        figures.unnegatable.append(name)
