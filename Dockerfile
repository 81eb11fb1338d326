# Image for the bridge (Flask app served by gunicorn, `bridge serve`) and its `bridge` CLI.
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

# `bridge serve`: gunicorn with the bridge's configuration (bridge/server.py: gthread,
# 1 worker x 8 threads, the shape bench/scim_ratios.py measures; requests in flight finish
# on SIGTERM, within 30 s). It checks every setting, the realm and the service-account
# login before serving, each failure in one line. Override with GUNICORN_CMD_ARGS (e.g.
# "--workers 2" on 2+ cores); more than one worker is more than one process: it refuses to
# start without BRIDGE_LOCK_URL then (see README). Every line (gunicorn's, the requests',
# the audit trail's) is JSON on stderr (README, "Logs and audit").
CMD ["bridge", "serve", "--host", "0.0.0.0", "--port", "8000"]
