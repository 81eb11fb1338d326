"""gunicorn settings module for the bridge's logging: ``gunicorn --config
python:bridge.observability.gunicorn_config "bridge.app:create_app()"``.

A server configuration of its own may instead take ``logconfig_dict`` from
:func:`bridge.observability.logs.logging_config`.
"""

from bridge.observability.logs import logging_config

logconfig_dict = logging_config()
