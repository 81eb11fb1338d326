"""The bridge's one logging configuration: JSON lines on stderr.

Every line is one JSON object: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
``message``, then the line's own fields (an audit event's ``actor``, ``action``,
``target``, ``outcome``...), and ``request_id`` on every line written while a request is
served (:class:`RequestContext`). python-json-logger renders them; nothing here formats
JSON by hand.

Two entry points share the same formatter and filter:

- :func:`configure_logging` for ``bridge`` commands (``serve``, ``dev``, the operator
  CLI): it adds one handler to the root logger and leaves any other handler alone;
- :func:`logging_config` for gunicorn (``logconfig_dict``, in the server's configuration:
  :func:`bridge.server.configuration`), so its own error and access lines are JSON too and
  the workers' application lines go to the same stream.

``BRIDGE_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR) sets the level; the audit trail
(``bridge.audit``) is always kept at INFO, whatever the level.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

from bridge.observability.context import current_request_id

AUDIT_LOGGER = "bridge.audit"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_FIELDS = "{asctime}{levelname}{name}{message}"
_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


class JsonLines(JsonFormatter):
    """One JSON object per record, its time first, in UTC with milliseconds.

    python-json-logger's rendering, made cheaper where it runs on every line (a request's
    line, an audit event): the second's text is made once per second, the record's fields
    are gathered in one pass, and one encoder (python-json-logger's, with the same options)
    serves every line instead of one made per line. The output is the same, byte for byte
    (tests/unit/test_observability.py compares it with the stock formatter's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", _FIELDS)
        kwargs.setdefault("style", "{")
        kwargs.setdefault("rename_fields", dict(_RENAMED))
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)
        self._named = [(field, self.rename_fields.get(field, field))
                       for field in self._required_fields]
        self._plain = not (self.defaults or self.static_fields or self.timestamp
                           or self.rename_fields_keep_missing)
        self._encode: Callable[[Any], str] | None = None
        if self.json_serializer is json.dumps and self.json_default is None \
                and self.json_indent is None and self.json_encoder is not None:
            self._encode = self.json_encoder(ensure_ascii=self.json_ensure_ascii).encode
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        known = self._second
        if known[0] != second:  # (two threads may both make it: same text)
            known = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = known
        return f"{known[1]}.{int(record.msecs):03d}Z"

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        if not self._plain:
            super().add_fields(log_data, record, message_dict)
            return
        fields = record.__dict__
        rename = self.rename_fields
        for field, name in self._named:
            log_data[name] = fields.get(field)
        for key, value in message_dict.items():
            log_data[rename.get(key, key)] = value
        skip = self._skip_fields
        for key, value in fields.items():
            if key not in skip and not key.startswith("_"):
                log_data[rename.get(key, key)] = value

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        if self._encode is None:
            return str(super().jsonify_log_record(log_data))
        return self._encode(log_data)


class RequestContext(logging.Filter):
    """Puts the current request id on each record (a handler's filter: it sees every
    record the handler writes, whichever logger it came from)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler on whatever ``sys.stderr`` is when a record is written (a test runner or
    click's runner may swap it after logging was configured)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def log_level(env: Mapping[str, str] | None = None, default: str = "INFO") -> str:
    """``BRIDGE_LOG_LEVEL``, checked: a typo stops start-up in one line."""
    value = (os.environ if env is None else env).get("BRIDGE_LOG_LEVEL") or default
    if value.upper() not in LEVELS:
        raise ValueError(f"BRIDGE_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {value!r}")
    return value.upper()


def json_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler writing JSON lines (to ``stream``, else to the current stderr)."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(JsonLines())
    handler.addFilter(RequestContext())
    return handler


_installed: list[logging.Handler] = []


def configure_logging(level: str | None = None, *, stream: TextIO | None = None) -> None:
    """JSON lines on stderr (or ``stream``) for this process. Idempotent: a second call
    replaces the handler the first added, and no other handler is touched."""
    level = level or log_level()
    root = logging.getLogger()
    while _installed:
        root.removeHandler(_installed.pop())
    handler = json_handler(stream)
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(level)
    logging.getLogger(AUDIT_LOGGER).setLevel(logging.INFO)


def logging_config(level: str | None = None) -> dict[str, Any]:
    """The same configuration as a ``logging.config.dictConfig`` dict: give it to gunicorn
    as ``logconfig_dict`` (its ``gunicorn.error`` and ``gunicorn.access`` lines become JSON
    lines on stderr as well)."""
    level = level or log_level()
    handler = {"()": f"{__name__}.json_handler"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            AUDIT_LOGGER: {"level": "INFO"},
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False},
        },
    }
