"""Log lines as an operator reads them: each record rendered by the bridge's own JSON
formatter (``bridge.observability.logs``), then parsed back."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from bridge.observability.logs import JsonLines, json_handler

_FORMATTER = JsonLines()


def json_lines(records: Iterable[logging.LogRecord], logger: str | None = None
               ) -> list[dict[str, Any]]:
    """The JSON objects the bridge writes for ``records`` (of ``logger`` only, if given)."""
    return [json.loads(_FORMATTER.format(r)) for r in records
            if logger is None or r.name == logger]


def audit_events(records: Iterable[logging.LogRecord]) -> list[dict[str, Any]]:
    return json_lines(records, "bridge.audit")


class CapturedLogs:
    """What the configured bridge wrote, line by line (see :func:`captured_logs`)."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line, each asserted to be one JSON object."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def audit(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "bridge.audit"]


@contextmanager
def captured_logs(level: str = "INFO") -> Iterator[CapturedLogs]:
    """Every line the process writes, as the bridge's configured handler writes it, into a
    buffer (``level`` and up; the audit trail always)."""
    stream = io.StringIO()
    root, audit = logging.getLogger(), logging.getLogger("bridge.audit")
    before = (root.level, audit.level)
    handler = json_handler(stream)
    root.addHandler(handler)
    root.setLevel(level)
    audit.setLevel(logging.INFO)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(before[0])
        audit.setLevel(before[1])
