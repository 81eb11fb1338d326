"""Progress a person running the tests sees while a long wait runs, although pytest
captures the output of tests and fixtures (``print`` shows only once a test failed)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import pytest

_ONE_AT_A_TIME = threading.Lock()


def terminal_progress(config: pytest.Config, prefix: str = "") -> Callable[[str], None]:
    """A ``log`` callback writing each message on its own line to the terminal at once:
    output capture is suspended for the write (``-s`` or ``-p no:capture`` included).
    Safe from several threads (nodes started side by side): one write at a time."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        line = f"{prefix}{message}\n"
        with _ONE_AT_A_TIME:
            if capture is None:
                sys.stderr.write(line)
                sys.stderr.flush()
                return
            with capture.global_and_fixture_disabled():
                sys.stderr.write(line)
                sys.stderr.flush()

    return say
