"""``./dev up`` (``bridge dev``) serves the bridge with the production server
(:func:`bridge.server.serve`, gunicorn), never Flask's development server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bridge import server
from bridge.config import Settings
from bridge.local import devstack


@dataclass
class _Keycloak:
    url: str = "http://127.0.0.1:18999"
    ready_url: str = "http://127.0.0.1:19999/health/ready"
    metrics_url: str = "http://127.0.0.1:19999/metrics"
    log_file: Path = Path("keycloak.log")

    def start(self, *_args: Any, **_kwargs: Any) -> bool:
        return False


class _Sink:
    http_url = "http://127.0.0.1:18025"

    def start(self) -> _Sink:
        return self

    def stop(self) -> None:
        pass


def _dev_stack_of(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, keycloak: type[_Keycloak],
                  sink: type[_Sink]) -> None:
    """``./dev up`` with ``keycloak`` and ``sink`` in place of the real ones, no realm
    applied, no admin login, its state under ``tmp_path``."""
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("BRIDGE_CATALOG", raising=False)
    monkeypatch.setattr(devstack, "dev_instance", keycloak)
    monkeypatch.setattr(devstack, "MailSink", lambda **_kwargs: sink())
    monkeypatch.setattr(devstack.AdminGateway, "with_password", lambda *_a, **_k: object())
    monkeypatch.setattr(devstack, "apply_dev_realm", lambda *_a, **_k: None)
    monkeypatch.setattr(devstack, "_stop_on_sigterm", lambda: None)


def test_dev_up_serves_with_the_production_server(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    _dev_stack_of(monkeypatch, tmp_path, _Keycloak, _Sink)

    def development_server(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("Flask's development server was started")

    monkeypatch.setattr(Flask, "run", development_server)
    served: list[tuple[str, int, Settings]] = []

    def serve(host: str, port: int, *, settings: Settings, **_kwargs: Any) -> None:
        served.append((host, port, settings))

    monkeypatch.setattr(server, "serve", serve)
    lines: list[str] = []
    devstack.run(echo=lines.append, config_dir=Path(__file__).parents[2] / "realm-config")
    [(host, port, settings)] = served
    assert (host, port) == ("127.0.0.1", 8000)
    assert settings.keycloak_url == "http://127.0.0.1:18999"
    assert any("/metrics" in line for line in lines), lines


def test_the_server_worker_leaving_dev_up_stops_neither_the_sink_nor_keycloak(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """gunicorn forks its worker inside serve(), and the worker leaves through the frames of
    ``./dev up`` when it exits: only the process that started the sink and Keycloak stops
    them (a worker waiting on the sink's threads, which it does not have, hung until
    gunicorn killed it, 30 s after every Ctrl-C or SIGTERM)."""
    stops = tmp_path / "stops"

    class Sink(_Sink):
        def stop(self) -> None:
            with stops.open("a") as out:
                out.write(f"sink {os.getpid()}\n")

    class Keycloak(_Keycloak):
        def start(self, *_args: Any, **_kwargs: Any) -> bool:
            return True

        def stop(self) -> bool:
            with stops.open("a") as out:
                out.write(f"keycloak {os.getpid()}\n")
            return True

    _dev_stack_of(monkeypatch, tmp_path, Keycloak, Sink)
    worker: list[int] = []

    def serve(*_args: Any, **_kwargs: Any) -> None:
        child = os.fork()
        if child == 0:
            raise SystemExit(0)  # the worker's exit, through the frames it was forked in
        worker.append(child)
        assert os.waitpid(child, 0)[1] == 0

    monkeypatch.setattr(server, "serve", serve)
    parent = os.getpid()
    try:
        devstack.run(echo=lambda _line: None,
                     config_dir=Path(__file__).parents[2] / "realm-config")
    finally:
        if os.getpid() != parent:  # the forked worker: gone, whatever it did above
            os._exit(0)
    assert stops.read_text().split("\n")[:-1] == [f"sink {parent}", f"keycloak {parent}"]
    assert worker
