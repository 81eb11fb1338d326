"""Liveness and readiness. Ready means Keycloak answers for our realm."""

from __future__ import annotations

import requests
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    settings = current_app.config["BRIDGE_SETTINGS"]
    url = f"{settings.keycloak_url}/realms/{settings.realm}/.well-known/openid-configuration"
    try:
        answered = requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        answered = False
    if not answered:
        return jsonify(status="unavailable", keycloak="unreachable"), 503, {"Retry-After": "5"}
    return jsonify(status="ready", keycloak="ok")
