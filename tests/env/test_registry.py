"""The tool registry against the real arena (in-process MCP) and a real external MCP server
(a subprocess over stdio), alias round trips, classification, corrections and drift."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from elab_hpc.env.aliases import AliasTable
from elab_hpc.env.discovery import discover
from elab_hpc.env.drift import detect_drift
from elab_hpc.env.registry import ToolRegistry
from elab_hpc.env.sources import SourceConfig
from elab_hpc.errors import ConfigError

EXTERNAL = SourceConfig(name="helpdesk", kind="stdio",
                        command=[sys.executable, str(Path(__file__).with_name("external_server.py"))])


@pytest.fixture(scope="module")
def arena_registry():
    return ToolRegistry.build(discover([SourceConfig(kind="arena")]))


def test_arena_discovery_qualifies_and_normalizes(arena_registry):
    reg = arena_registry
    assert len(reg) >= 140 and len(reg.apps()) == 15
    assert not reg.problems
    # the same bare name in two apps stays apart
    assert set(reg.resolve("create_project")) >= {"plane.create_project", "dolibarr.create_project"}
    issue = reg["gitlab.create_issue"]
    assert "workspace_id" in issue.params and issue.params["workspace_id"].native == "project_id"
    assert issue.to_native({"workspace_id": "7", "title": "t"}) == {"project_id": "7", "title": "t"}
    assert issue.op == "CREATE" and "issue" in issue.produces and "workspace" in issue.consumes
    assert reg["rocketchat.get_channels"].op == "LIST"
    assert reg["rocketchat.search_messages"].op == "SEARCH"
    assert reg["gitlab.get_file_contents"].op == "GET"
    ops = {a.op for a in reg}
    assert {"CREATE", "LIST", "SEARCH", "GET", "UPDATE", "DELETE"} <= ops


def test_alias_round_trip_for_every_tool(arena_registry):
    for action in arena_registry:
        native = {p.native: f"v-{p.native}" for p in action.params.values()}
        canonical = action.to_canonical(native)
        assert len(canonical) == len(native), action.name  # no two natives collapse into one
        assert action.to_native(canonical) == native, action.name
        assert set(canonical) == set(action.input_schema["properties"])


def test_alias_collisions_keep_native_names():
    table = AliasTable.from_dict({"user_id": ["user", "username"]})
    assert table.plan("x", ["user", "username"]) == {"user": "user", "username": "username"}
    assert table.plan("x", ["username", "title"]) == {"username": "user_id", "title": "title"}
    assert table.plan("x", ["user", "user_id"]) == {"user": "user", "user_id": "user_id"}
    with pytest.raises(ConfigError):
        AliasTable.from_dict({"a": ["x"], "b": ["x"]})


def test_external_server_is_discovered_and_malformed_schemas_reported():
    d = discover([EXTERNAL])
    names = {t.name for t in d.tools}
    assert names == {"open_ticket", "get_ticket", "list_tickets"}
    broken = {p["tool"]: p["problem"] for p in d.problems}
    assert set(broken) == {"weird_types", "required_ghost", "no_description"}
    assert "banana" in broken["weird_types"]
    reg = ToolRegistry.build(d)
    t = reg["helpdesk.open_ticket"]
    assert t.op == "CREATE" and "ticket" in t.produces
    assert set(t.params) == {"title", "user_id", "workspace_id"}  # subject, assignee, project → canonical
    assert reg["helpdesk.list_tickets"].op == "LIST"


def test_corrections_override_inference(arena_registry):
    assert arena_registry["bash.run_command"].op == "OTHER"
    assert arena_registry["rocketchat.send_channel_message"].produces == ["message"]


def test_drift_detects_added_removed_renamed_reparameterized(arena_registry):
    old = ToolRegistry.from_snapshot(arena_registry.snapshot())
    snap = copy.deepcopy(arena_registry.snapshot())
    acts = snap["actions"]
    # rename a tool (same params and description)
    moved = acts.pop("rocketchat.get_channel_messages")
    moved.update(name="rocketchat.get_room_history", tool="get_room_history", call_name="rocketchat.get_room_history")
    acts["rocketchat.get_room_history"] = moved
    # rename a parameter and add one
    p = acts["gitlab.create_issue"]["params"]
    p["title"] = {**p["title"], "native": "issue_title"}
    p["weight"] = {"native": "weight", "schema": {"type": "integer", "description": "Weight"}, "required": False}
    # remove a tool, add a brand-new one
    acts.pop("mail.delete_email", None) or acts.pop(next(k for k in acts if k.startswith("mail.")))
    acts["zammad.zammad_escalate"] = {**acts["zammad.zammad_get_ticket"], "name": "zammad.zammad_escalate",
                                      "tool": "zammad_escalate", "call_name": "zammad.zammad_escalate",
                                      "description": "Escalate to the on-call manager with a pager alert.",
                                      "params": {}, "op": "UPDATE"}
    new = ToolRegistry.from_snapshot(snap)
    report = detect_drift(old, new)
    assert ("rocketchat.get_channel_messages", "rocketchat.get_room_history") in report.renamed
    ch = report.reparameterized["gitlab.create_issue"]
    assert ch.renamed == [("title", "issue_title")] and ch.added == ["weight"]
    assert "zammad.zammad_escalate" in report.added
    assert len(report.removed) == 1 and report.removed[0].startswith("mail.")
    assert detect_drift(old, old).changed_tools() == []


def test_noncompliant_server_is_reported_not_crashed_on():
    """A server whose listing breaks the MCP schema: the source is reported, the others still load."""
    bad = SourceConfig(name="broken", kind="stdio", timeout_s=20,
                       command=[sys.executable, str(Path(__file__).with_name("noncompliant_server.py"))])
    d = discover([bad, EXTERNAL])
    assert {t.app for t in d.tools} == {"helpdesk"}
    (problem,) = [p for p in d.problems if p["source"] == "broken"]
    assert problem["tool"] == "*" and "cannot list tools" in problem["problem"]
