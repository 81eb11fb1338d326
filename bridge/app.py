"""The bridge's WSGI application factory (``gunicorn "bridge.app:create_app()"``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from bridge.config import Settings
from bridge.health import health


def create_app(settings: Settings | None = None,
               overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build an app: settings from the environment unless given, then ``overrides``."""
    app = Flask(__name__)
    app.config["BRIDGE_SETTINGS"] = settings or Settings.from_env()
    app.config.update(overrides or {})
    app.register_blueprint(health)
    return app
