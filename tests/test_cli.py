"""The command line as a user meets it: help texts, the arena tool listing, the demo."""
from __future__ import annotations

import json
import subprocess
import sys

CLI = [sys.executable, "-m", "elab_hpc.cli"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, check=check, timeout=300)


def test_top_level_help_lists_every_area():
    out = run("--help").stdout
    for area in ("arena", "cluster", "pipeline", "synth", "train", "eval", "adapt", "containers", "demo"):
        assert area in out


def test_arena_help_explains_every_subcommand():
    out = run("arena", "--help").stdout
    for sub in ("tools", "info", "call", "serve"):
        assert sub in out
    serve = run("arena", "serve", "--help").stdout
    assert "bearer" in serve.lower() and "127.0.0.1" in serve


def test_arena_tools_json_lists_at_least_140_tools_across_15_apps():
    tools = json.loads(run("arena", "tools", "--json").stdout)
    assert len(tools) >= 140
    assert len({t["app"] for t in tools}) == 15
    for t in tools:
        assert set(t) >= {"app", "name", "description", "input_schema", "annotations"}
        assert set(t["annotations"]) >= {"readOnlyHint", "destructiveHint", "idempotentHint"}


def test_arena_call_reports_errors_with_exit_code():
    ok = run("arena", "call", "rocketchat.get_channels")
    assert json.loads(ok.stdout)["ok"] is True
    bad = run("arena", "call", "rocketchat.get_channel_messages", '{"channel": "no-such-room"}', check=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["code"] == "not_found"
    junk = run("arena", "call", "rocketchat.get_channels", "{not json", check=False)
    assert junk.returncode == 2 and "not valid JSON" in junk.stderr


def test_demo_plays_the_cross_app_episode():
    out = json.loads(run("demo", "--json").stdout)
    steps = out["steps"]
    assert all(s["ok"] for s in steps)
    apps = {s["tool"].split(".")[0] for s in steps}
    assert {"frappe", "owncloud", "calendar", "mail", "rocketchat"} <= apps
    assert out["diff_tables"]["mail_messages"]["inserted"] == 2  # sent copy + the manager's inbox copy
    assert out["diff_tables"]["hr_job_applicants"]["updated"] == 3
