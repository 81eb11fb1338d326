# Image for the bridge (Flask app served by gunicorn) and its `bridge` CLI.
#   docker build -t saas-access-bridge:local .
# Used by docker-compose.yml for the `bridge` and `realm-apply` services.
#
# The base image is an exact version, not a digest: no container registry was reachable
# where this file is maintained to read one. Pin it as python:3.11.13-slim-bookworm@sha256:...
# (`docker buildx imagetools inspect` prints it) where a registry is at hand.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin bridge

# Install the package (and its console script `bridge`) from a throw-away copy of the
# sources, so that only the installed package ends up importable. README.md is optional.
# No extras: the dev mail sink (aiosmtpd) and the test tools stay out of the image; every
# version is the one constraints.txt pins (the versions the tests ran with).
COPY pyproject.toml constraints.txt README.md* /tmp/src/
COPY bridge /tmp/src/bridge
COPY scim /tmp/src/scim
RUN pip install --constraint /tmp/src/constraints.txt /tmp/src && rm -rf /tmp/src

WORKDIR /app
# Realm configuration as code, applied by `bridge realm apply /app/realm-config`.
COPY realm-config /app/realm-config

USER bridge:bridge
EXPOSE 8000

# gthread: a request waiting on Keycloak (most of its time) no longer holds the only
# worker, and keep-alive is served; this is the shape bench/scim_ratios.py measures
# (1 worker, 8 threads). Override with GUNICORN_CMD_ARGS (e.g. "--workers 2" on 2+ cores);
# more than one worker is more than one process: set BRIDGE_LOCK_URL then (see README).
ENV GUNICORN_CMD_ARGS="--worker-class gthread --workers 1 --threads 8"
# Every line (gunicorn's, the requests', the audit trail's) is JSON on stderr (README, "Logs
# and audit").
CMD ["gunicorn", "--config", "python:bridge.observability.gunicorn_config", "--bind", "0.0.0.0:8000", "bridge.app:create_app()"]
