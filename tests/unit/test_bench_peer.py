"""The peer benchmark's pieces that need no Keycloak: bounds, the table, /proc, the chart."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

BENCH = Path(__file__).resolve().parents[2] / "bench" / "peer.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_peer", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_peer"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


peer = _load()


def _row(**values: float | None):
    return peer.Row("create", "ms/op", {"raw": 6.0, "bridge": 10.6, "keycloak-scim": 8.0,
                                        **values}, hop_ms=0.95)


def test_a_per_operation_bound_is_raw_plus_one_hop() -> None:
    row = _row()
    assert row.bound == pytest.approx(6.95)
    assert row.bridge_own == pytest.approx(10.6 - 6.95)
    assert row.ratio("bridge") == pytest.approx(10.6 / 6.0)
    assert row.ratio("bridge", "keycloak-scim") == pytest.approx(10.6 / 8.0)


def test_a_whole_run_bound_pays_one_hop_per_scim_request() -> None:
    row = peer.Row("sync", "s", {"raw": 100.0, "bridge": 150.0, "keycloak-scim": 120.0},
                   hop_ms=2.0, requests=20_000, per_op=False)
    assert row.bound == pytest.approx(100.0 + 20_000 * 2.0 / 1000)  # 140 s
    assert row.bridge_own == pytest.approx(10.0)


def test_no_bound_without_raw_or_hop() -> None:
    assert peer.Row("x", "ms/op", {"raw": None, "bridge": 3.0}, hop_ms=1.0).bound is None
    assert peer.Row("x", "ms/op", {"raw": 3.0, "bridge": 3.0}).bound is None
    assert peer.ratio(1.0, 0.0) is None


def test_the_target_is_keycloak_scim_or_half_a_millisecond_above_the_floor() -> None:
    assert peer.verdict(_row(bridge=7.9)).startswith("OK (<= keycloak-scim)")
    assert peer.verdict(_row(bridge=10.6)) == "above keycloak-scim"
    # Bound by the hop floor (raw + hop above the peer): the bridge's own time decides.
    assert peer.verdict(_row(**{"keycloak-scim": 6.5, "bridge": 7.3})) == \
        "OK (own <= 0.5 ms)"
    assert peer.verdict(_row(**{"keycloak-scim": 6.5, "bridge": 7.6})).startswith(
        "above (own 0.65 ms")
    assert peer.verdict(peer.Row("x", "s", dict.fromkeys(peer.SIDES))) == "not run"
    # A whole run bound by the floor: the bridge's own time per request it sent.
    sync = peer.Row("sync", "s", {"raw": 100.0, "bridge": 150.0, "keycloak-scim": 110.0},
                    hop_ms=1.0, requests=20_000, per_op=False)
    assert peer.verdict(sync) == "hop-bound (own 1.50 ms/request)"


def test_admin_calls_are_shown_beside_their_budget() -> None:
    row = _row()
    row.admin_calls, row.calls_budget = 2.0, 1
    assert peer.calls_cell(row) == "2.00 (budget 1, over)"
    row.admin_calls = 1.0
    assert peer.calls_cell(row) == "1.00 (budget 1)"
    row.calls_budget = None
    assert peer.calls_cell(row) == "1.00"
    # The mean holds the background reads of the row; the budget is about each operation.
    row.admin_calls, row.calls_each, row.calls_budget = 1.25, 1.0, 1
    assert peer.calls_cell(row) == "1.25 (each 1; budget 1)"
    row.calls_each = 2.0
    assert peer.calls_cell(row) == "1.25 (each 2; budget 1, over)"


def test_the_table_shows_every_row_with_its_bound() -> None:
    rows = [_row(), peer.Row("walk", "s", {"raw": 30.0, "bridge": 45.0,
                                           "keycloak-scim": 90.0},
                             hop_ms=1.0, requests=1000, per_op=False, admin_calls=2.0)]
    text = peer.table(rows)
    lines = text.splitlines()
    assert len(lines) == 4
    assert "bound (raw + hop)" in lines[0]
    create = [c.strip() for c in lines[2].split("|")]
    assert create[1:7] == ["create", "ms/op", "6.00", "6.95", "10.60", "8.00"]
    walk = [c.strip() for c in lines[3].split("|")]
    assert walk[3:7] == ["30.00", "31.00", "45.00", "90.00"]
    assert walk[11] == "2.00"
    assert walk[12].startswith("OK")


def test_parse_stat_reads_group_and_cpu_with_a_hostile_command_name() -> None:
    ticks = peer.CLOCK_TICKS
    line = (f"4242 (gunicorn: w) x) S 1 777 777 0 -1 4194560 1 0 0 0 {3 * ticks} "
            f"{ticks} 0 0 20 0 9 0 100 1000 10 0")
    group, cpu = peer.parse_stat(line)
    assert group == 777
    assert cpu == pytest.approx(4.0)


def test_parse_rss() -> None:
    assert peer.parse_rss("Name:\tjava\nVmRSS:\t  204800 kB\nThreads: 9\n") == 200 * 2**20
    assert peer.parse_rss("Name:\tzombie\n") == 0


def test_group_cpu_and_rss_are_read_from_proc_for_every_process_of_a_group() -> None:
    # A group of two processes (a shell and its busy child), as gunicorn's master and
    # worker: both burn CPU, and the group's figure counts both.
    burn = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.4: pass\n" \
           "time.sleep(30)"
    child = subprocess.Popen(
        ["/bin/sh", "-c", f'{sys.executable} -c "{burn}" & {sys.executable} -c "{burn}"'],
        start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(peer.group_pids(child.pid)) >= 3 and \
                    peer.group_cpu_seconds(child.pid) >= 0.75:
                break
            time.sleep(0.1)
        assert len(peer.group_pids(child.pid)) >= 3
        assert peer.group_cpu_seconds(child.pid) >= 0.75
        assert peer.group_rss(child.pid) > 5 * 2**20
        assert peer.group_cpu_seconds(2**22 + 12345) == 0.0
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)


def test_admin_calls_are_summed_over_their_labels() -> None:
    text = "\n".join([
        "# HELP bridge_keycloak_admin_calls_total Keycloak admin API calls",
        "# TYPE bridge_keycloak_admin_calls_total counter",
        'bridge_keycloak_admin_calls_total{method="POST",route="/{realm}/users"} 3.0',
        'bridge_keycloak_admin_calls_total{method="GET",route="/{realm}/users"} 2.0',
        'bridge_keycloak_admin_failures_total{method="GET",route="x",reason="5xx"} 9.0',
        'bridge_http_requests_total{route="/scim/v2/Users",method="POST",status="201"} 4.0',
    ])
    assert peer.admin_calls_total(text) == 5.0


def test_rotations_put_each_side_first_in_turn() -> None:
    firsts = [peer.rotations(i)[0] for i in range(3)]
    assert sorted(firsts) == sorted(peer.SIDES)
    assert all(sorted(peer.rotations(i)) == sorted(peer.SIDES) for i in range(5))


def test_save_writes_the_table_json_and_a_png(tmp_path: Path) -> None:
    rows = [_row(), peer.Row("not run row", "s", dict.fromkeys(peer.SIDES), per_op=False,
                             note="not run: time")]
    resources = peer.Resources(bridge_cpu=3.0, keycloak_cpu=20.0,
                               keycloak_cpu_by_side={"raw": 18.0}, rss_before=100 * 2**20,
                               rss_after_sync=104 * 2**20, rss_after_second_sync=104 * 2**20)
    written = peer.save(rows, resources, {"sizes": {"users": 200}}, tmp_path / "run")
    png = written["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    body = json.loads(written["json"].read_text())
    assert body["rows"][0]["bound"] == pytest.approx(6.95)
    assert body["rows"][1]["target"] == "not run"
    assert body["resources"]["cpu_share"] == pytest.approx(0.15)
    md = written["md"].read_text()
    assert "| create | ms/op | 6.00 | 6.95 |" in md
    assert "share 15.0 %" in md and "+4.0, target <= +10" in md and "+0.0, target <= 0" in md


def test_the_bench_keycloak_is_the_product_build_plus_scim_api() -> None:
    from bridge.local.keycloak import BUILD_OPTIONS

    options = peer.scim_api_build_options()
    assert [o for o in options if not o.startswith("--features=")] == \
        [o for o in BUILD_OPTIONS if not o.startswith("--features=")]
    features = next(o for o in options if o.startswith("--features=")).split("=")[1]
    assert set(features.split(",")) == {"organization", "scim-api"}


def test_sizes_are_checked() -> None:
    with pytest.raises(SystemExit):
        peer.parse(["--users", "100", "--group-members", "90", "--member-adds", "10"])
    args = peer.parse(["--users", "200", "--sync-users", "50", "--lookups", "20",
                       "--group-members", "50", "--member-adds", "5"])
    assert (args.users, args.sync_users, args.patch_members) == (200, 50, 100)


def test_the_sync_shrinks_to_the_time_left() -> None:
    rows = [peer.Row("create", "ms/op", {"raw": 10.0, "bridge": 20.0, "keycloak-scim": 10.0}),
            peer.Row("userName eq at 1,000 users", "ms/op",
                     {"raw": 5.0, "bridge": 10.0, "keycloak-scim": 5.0})]
    # 60 ms a user on the three sides, a quarter more for the groups: 75 s per 1000 users.
    assert peer.sync_minutes(1000, rows) == pytest.approx(1.25)
    args = peer.parse(["--users", "2000", "--group-members", "100", "--sync-users", "10000"])
    assert args.second_sync
    # 12.5 min, and the bridge's second sync a third more: 16.7 min; 30 min left: all.
    assert peer.fitted_sync_users(args, rows, 30 * 60) == 10_000
    # 6 min left, one to spare: 5 / 16.7 of the users.
    assert peer.fitted_sync_users(args, rows, 6 * 60) == 3000
    assert peer.fitted_sync_users(args, rows, 0) == 5 * args.sync_groups
    assert peer.fitted_sync_users(args, [], 0) == 10_000  # nothing measured: as asked


def test_a_walk_is_estimated_from_its_first_pages_with_a_margin() -> None:
    sides = ("raw", "bridge", "keycloak-scim")
    wall = {"raw": 0.3, "bridge": 0.6, "keycloak-scim": 3.0}  # 3 pages each so far
    seen = dict.fromkeys(sides, 300)
    pages = dict.fromkeys(sides, 3)
    done = dict.fromkeys(sides, False)
    sizes = dict.fromkeys(sides, 100)
    needed = peer.walk_seconds_left(wall, seen, pages, done, {"bridge": 10_300}, sizes)
    # 100 pages left each: 10 s raw, 20 s bridge, 100 s keycloak-scim, times the margin
    assert needed == pytest.approx(peer.WALK_MARGIN * 130)
    done["keycloak-scim"] = True  # a side that is done needs nothing more
    assert peer.walk_seconds_left(wall, seen, pages, done, {"bridge": 10_300}, sizes) == \
        pytest.approx(peer.WALK_MARGIN * 30)
    assert peer.walk_seconds_left(wall, seen, pages, done, {}, sizes) is None


def test_the_cpu_lines_show_the_share_of_a_bridge_that_is_only_served() -> None:
    resources = peer.Resources(bridge_cpu=40.0, keycloak_cpu=80.0, sync_requests=14_000,
                               served_cpu_ms=0.5)
    assert resources.cpu_share == pytest.approx(0.5)
    assert resources.served_share == pytest.approx(7.0 / 80.0)  # 14,000 x 0.5 ms = 7 s
    lines = "\n".join(resources.lines())
    assert "share 50.0 % (target <= 25 %)" in lines
    assert "per SCIM request of the sync: 2.86 ms over 14,000 requests" in lines
    assert "GET /healthz, this run): 0.50 ms, a share of 8.8 %" in lines
    assert peer.Resources(bridge_cpu=1.0, keycloak_cpu=2.0).served_share is None
