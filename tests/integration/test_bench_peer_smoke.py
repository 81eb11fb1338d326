"""bench/peer.py end to end at tiny sizes: its own scim-api Keycloak, the bridge under
gunicorn, every row measured on the three sides, the files written, nothing left running.

Out of CI: the bench builds a Keycloak distribution of its own (about two minutes the
first time) and starts it (a minute or more on a loaded machine), far over the minute a
CI smoke may take. Run it with ``BRIDGE_BENCH_SMOKE=1``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get("BRIDGE_BENCH_SMOKE"),
                       reason="minutes long (its own Keycloak build): BRIDGE_BENCH_SMOKE=1"),
]

ROOT = Path(__file__).resolve().parents[2]


def _processes_naming(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(entry.name)
    return found


def test_the_peer_bench_measures_every_row_and_cleans_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peer.py"), "--users", "200",
         "--group-members", "50", "--sync-users", "50", "--sync-groups", "3",
         "--creates", "10", "--warmup", "2", "--lookups", "20", "--member-adds", "5",
         "--sync-chunk", "10", "--max-minutes", "10", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (folder,) = tmp_path.iterdir()
    body = json.loads((folder / "peer.json").read_text())
    names = [row["name"] for row in body["rows"]]
    assert len(names) == 6, names
    for row in body["rows"]:
        assert all(row["values"][side] > 0 for side in ("raw", "bridge", "keycloak-scim")), row
        assert row["bound"] >= row["values"]["raw"], row
    walk = next(row for row in body["rows"] if "count=100" in row["name"])
    seen = walk["extra"]["seen"]
    assert seen["raw"] == seen["bridge"] == seen["keycloak-scim"] >= 200, seen
    resources = body["resources"]
    assert resources["bridge_cpu"] > 0 and resources["keycloak_cpu"] > 0
    assert resources["rss_before"] > 0 and resources["rss_after_second_sync"] > 0
    assert (folder / "peer.png").read_bytes()[:4] == b"\x89PNG"
    assert "| create" in (folder / "peer.md").read_text()
    # Keycloak (its database is in the state directory), gunicorn and the directory: gone.
    state = re.search(r"state directory (\S+)", done.stdout).group(1)
    assert not Path(state).exists()
    assert _processes_naming(state) == []
    assert "bridge stopped" in done.stdout and "Keycloak stopped" in done.stdout
