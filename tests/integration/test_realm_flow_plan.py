"""Flow plans are readable: one line per changed execution or config, never two whole
trees on one line."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import bridge, config_with


def test_a_flow_drift_plans_one_line_per_execution_and_config(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {})
    flows_file = config / "flows.yaml"
    document = yaml.safe_load(flows_file.read_text())
    forms = document["flows"][0]["executions"][1]
    otp = forms["executions"][1]
    otp["executions"][0]["config"]["config"]["condUserRole"] = "mfa-strict"
    otp["executions"][1]["requirement"] = "ALTERNATIVE"
    forms["executions"].append({"authenticator": "auth-spnego", "requirement": "DISABLED"})
    document["roles"] = [{"name": "mfa-strict"}]
    flows_file.write_text(yaml.safe_dump(document, sort_keys=False))
    result = bridge(fresh_realm, "realm", "plan", str(config), "--realm", fresh_realm.name)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("~ flow browser-mfa")
    otp_path = "browser-mfa forms/browser-mfa otp when required"
    assert lines[start + 1:start + 4] == [
        f"    executions[{otp_path}/conditional-user-role].config.condUserRole: "
        "'mfa-required' -> 'mfa-strict'",
        f"    executions[{otp_path}/auth-otp-form].requirement: 'REQUIRED' -> 'ALTERNATIVE'",
        "    executions[browser-mfa forms/auth-spnego]: (none) -> 'DISABLED execution'"]
    assert max(len(line) for line in lines) < 160
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
