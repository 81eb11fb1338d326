"""Debian packages the local harness needs, installed when missing and we are root.

A package's own service (nginx on port 80 of every interface, the distribution's
PostgreSQL cluster) is never started by the installation: ``policy-rc.d`` answers 101
("action not allowed") while apt runs, the documented way to install without starting.
The harness then runs the binaries itself, on loopback, from temporary directories.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")


@contextlib.contextmanager
def _services_not_started() -> Iterator[None]:
    if POLICY_RC_D.exists():  # the machine's own policy stays as it is
        yield
        return
    POLICY_RC_D.write_text("#!/bin/sh\n# installed by the bridge's local harness\nexit 101\n")
    POLICY_RC_D.chmod(0o755)
    try:
        yield
    finally:
        POLICY_RC_D.unlink(missing_ok=True)


def can_install() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(*packages: str) -> bool:
    """Install ``packages`` without starting their services; False if that is impossible."""
    if not can_install():
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _services_not_started():
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env,
                       capture_output=True, timeout=600)
        result = subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False,
                                env=env, capture_output=True, timeout=900)
    return result.returncode == 0
