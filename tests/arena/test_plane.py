"""Plane app: the reference tool surface, a scripted project/issue episode, the workflow of issue
states, cycle dates, worklogs, JSON `*_data` parameters and role rules — every refusal leaves the
state unchanged — plus notifications to assignees and workspace membership on hiring."""
from __future__ import annotations

import json

import pytest

from arena.core.company import hire
from arena.core.registry import load_apps
from arena.core.world import World

from tests.arena.calls import app_calls
from tests.arena.reference import SURFACES, reference_tools

ok, refused = app_calls("plane")

JSON_TYPES = {"str": "string", "int": "integer"}


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["plane"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def member_of(ep, identifier: str, role: int = 15) -> str:
    """A non-admin project member with the given role."""
    return ep.query("SELECT u.username FROM pl_project_members m JOIN users u ON u.id = m.user_id "
                    "JOIN pl_projects p ON p.id = m.project_id WHERE p.identifier = ? AND m.role = ? "
                    "AND u.role != 'admin' ORDER BY u.id LIMIT 1", identifier, role)[0]["username"]


@pytest.mark.skipif(not SURFACES.exists(), reason="reference tool surfaces not present")
def test_surface_is_a_superset_of_the_reference_server(world):
    reference = reference_tools("plane")
    ours = {t.name: t for t in world.tools("plane")}
    for ref in reference:
        spec = ours[ref["name"]]
        props, required = spec.input_schema["properties"], set(spec.input_schema.get("required", []))
        assert set(props) == {p["name"] for p in ref["params"]}, ref["name"]
        for p in ref["params"]:
            assert (p["name"] in required) == p["required"], (ref["name"], p["name"])
            assert props[p["name"]]["type"] == JSON_TYPES[p["type"]], (ref["name"], p["name"])
    assert len(ours) >= 48 and {"list_project_issues", "get_issue"} <= set(ours)


def test_project_issue_lifecycle(ep):
    proj = ok(ep, "create_project", {"name": "Payments Gateway", "identifier": "pay"})
    assert proj["identifier"] == "PAY"
    assert [s["name"] for s in ok(ep, "list_states", {"project_id": "PAY"})["states"]] == [
        "Backlog", "Todo", "In Progress", "Done", "Cancelled"]
    dev = ep.query("SELECT id, username FROM users WHERE id != 1 AND status = 'active' ORDER BY id LIMIT 1")[0]
    ok(ep, "add_project_member", {"project_id": "PAY", "member": dev["username"]})
    ok(ep, "create_label", {"project_id": "PAY", "name": "backend", "color": "#3a86ff"})
    created = ok(ep, "create_issue", {"project_id": "PAY", "issue_data": json.dumps({
        "name": "Support 3-D Secure", "assignees": [dev["username"]], "labels": ["backend"], "priority": "high",
        "state": "Todo", "start_date": "2026-03-02", "target_date": "2026-03-13"})})
    assert created["identifier"] == "PAY-1"
    second = ok(ep, "plane_create_issue", {"project_id": "PAY", "name": "Refund API",
                                           "description_html": "<p>Partial refunds</p>"})
    assert second["identifier"] == "PAY-2"
    # the assignee was told
    notes = ep.query("SELECT text, ref FROM notifications WHERE user_id = ? AND app = 'plane'", dev["id"])
    assert notes == [{"text": "jordan.lee assigned you PAY-1: Support 3-D Secure", "ref": "plane:PAY-1"}]

    ok(ep, "update_issue", {"project_id": "PAY", "issue_id": "PAY-1", "issue_data": '{"state": "In Progress"}'})
    ok(ep, "add_issue_comment", {"project_id": "PAY", "issue_id": "PAY-1", "comment_html": "<p>Started</p>"})
    ep.as_user(dev["username"])
    log = ok(ep, "create_worklog", {"project_id": "PAY", "issue_id": "PAY-1", "description": "Impl", "duration": 90})
    ok(ep, "update_issue", {"project_id": "PAY", "issue_id": "PAY-1", "issue_data": '{"state": "Done"}'})
    ep.as_user("jordan.lee")

    issue = ok(ep, "get_issue_using_readable_identifier", {"project_identifier": "PAY", "issue_identifier": "1"})
    assert issue["state"] == {"id": issue["state"]["id"], "name": "Done", "group": "completed"}
    assert issue["assignees"] == [dev["username"]] and issue["labels"] == ["backend"]
    assert issue["logged_minutes"] == 90 and issue["comments"] == 1 and issue["completed_at"] == ep.ctx.now
    assert ok(ep, "get_issue_worklogs", {"project_id": "PAY", "issue_id": "PAY-1"})["worklogs"][0]["id"] == log["id"]
    listing = ok(ep, "list_project_issues", {"project_id": "PAY", "state": "Done"})
    assert [i["identifier"] for i in listing["issues"]] == ["PAY-1"] and listing["total"] == 1

    # deleting the newest issue does not free its number
    ok(ep, "delete_issue", {"project_id": "PAY", "issue_id": "PAY-2"})
    assert ok(ep, "plane_create_issue", {"project_id": "PAY", "name": "Payouts", "description_html": ""})[
        "identifier"] == "PAY-3"

    diff = ep.diff()
    assert len(diff["pl_projects"]["inserted"]) == 1
    assert {r["sequence_id"] for r in diff["pl_issues"]["inserted"]} == {1, 3}
    assert len(diff["pl_worklogs"]["inserted"]) == 1 and diff["pl_worklogs"]["inserted"][0]["duration"] == 90
    assert ep.query("SELECT s.name FROM pl_issues i JOIN pl_states s ON s.id = i.state_id "
                    "WHERE i.id = ?", created["id"]) == [{"name": "Done"}]


def test_issue_workflow_refuses_invalid_transitions(ep):
    issue = ok(ep, "plane_create_issue", {"project_id": "WEB", "name": "Legacy widget", "description_html": ""})
    ok(ep, "update_issue", {"project_id": "WEB", "issue_id": issue["identifier"],
                            "issue_data": '{"state": "Cancelled"}'})
    err = refused(ep, "update_issue", {"project_id": "WEB", "issue_id": issue["identifier"],
                                       "issue_data": '{"state": "Done"}'}, "invalid_transition")
    assert err["details"]["allowed_groups"] == ["backlog", "unstarted"]
    refused(ep, "update_issue", {"project_id": "WEB", "issue_id": issue["identifier"],
                                 "issue_data": '{"state": "In Progress"}'}, "invalid_transition")
    # the sanctioned way back: Cancelled -> Todo -> In Progress -> Done
    for state in ("Todo", "In Progress", "Done"):
        ok(ep, "update_issue", {"project_id": "WEB", "issue_id": issue["identifier"],
                                "issue_data": json.dumps({"state": state})})
    refused(ep, "update_issue", {"project_id": "WEB", "issue_id": issue["identifier"],
                                 "issue_data": '{"state": "Backlog"}'}, "invalid_transition")


def test_cycle_dates_and_completed_cycles(ep):
    refused(ep, "create_cycle", {"project_id": "WEB", "name": "Backwards", "start_date": "2026-04-10",
                                 "end_date": "2026-04-01"}, "rule_violation")
    refused(ep, "create_cycle", {"project_id": "WEB", "name": "Overlap", "start_date": "2026-03-01",
                                 "end_date": "2026-03-04"}, "rule_violation")  # Sprint 2 runs to 03-08
    refused(ep, "create_cycle", {"project_id": "WEB", "name": "Garbled", "start_date": "next monday",
                                 "end_date": "2026-04-01"}, "invalid_arguments")
    cyc = ok(ep, "create_cycle", {"project_id": "WEB", "name": "Sprint 4", "start_date": "2026-03-23",
                                  "end_date": "2026-04-05"})
    assert cyc["status"] == "upcoming"
    refused(ep, "update_cycle", {"project_id": "WEB", "cycle_id": "Sprint 4",
                                 "cycle_data": '{"end_date": "2026-03-01"}'}, "rule_violation")
    refused(ep, "add_cycle_issues", {"project_id": "WEB", "cycle_id": "Sprint 1", "issues": '["WEB-1"]'},
            "rule_violation")  # Sprint 1 ended on 02-22
    refused(ep, "create_cycle_issue", {"project_id": "WEB", "cycle_id": "Sprint 1", "name": "Late",
                                       "description_html": ""}, "rule_violation")
    # transferring moves only unfinished issues, and keeps each issue in one cycle
    ok(ep, "add_cycle_issues", {"project_id": "WEB", "cycle_id": "Sprint 2", "issues": "WEB-1, WEB-2"})
    moved = ok(ep, "transfer_cycle_issues", {"project_id": "WEB", "cycle_id": "Sprint 2",
                                             "new_cycle_id": str(cyc["id"])})["moved"]
    unfinished = ep.query("SELECT p.identifier || '-' || i.sequence_id AS rid FROM pl_cycle_issues ci "
                          "JOIN pl_issues i ON i.id = ci.issue_id JOIN pl_projects p ON p.id = i.project_id "
                          "WHERE ci.cycle_id = ? ORDER BY i.sequence_id", cyc["id"])
    assert moved == [r["rid"] for r in unfinished] and "WEB-1" in moved
    assert ep.query("SELECT COUNT(*) AS n FROM pl_cycle_issues ci JOIN pl_issues i ON i.id = ci.issue_id "
                    "JOIN pl_states s ON s.id = i.state_id WHERE ci.cycle_id = (SELECT id FROM pl_cycles WHERE "
                    "name = 'Sprint 2' AND project_id = 1) AND s.state_group NOT IN ('completed', 'cancelled')"
                    ) == [{"n": 0}]


@pytest.mark.parametrize("tool,args,field", [
    ("update_issue", {"issue_id": "WEB-1"}, "issue_data"),
    ("update_state", {"state_id": "Todo"}, "state_data"),
    ("update_label", {"label_id": "1"}, "label_data"),
    ("update_cycle", {"cycle_id": "Sprint 3"}, "cycle_data"),
    ("update_module", {"module_id": "0"}, "module_data"),
    ("update_issue_type", {"type_id": "Task"}, "issue_type_data"),
])
def test_bad_json_data_parameters(ep, tool, args, field):
    if tool == "update_module":
        args = {"module_id": ep.query("SELECT id FROM pl_modules WHERE project_id = 1 LIMIT 1")[0]["id"].__str__()}
    if tool == "update_label":
        args = {"label_id": ep.query("SELECT id FROM pl_labels WHERE project_id = 1 LIMIT 1")[0]["id"].__str__()}
    base = {"project_id": "WEB", **args}
    for text in ('{"name": "x"', "[1, 2]", '{"no_such_key": 1}', '{"name": 7}', "{}"):
        err = refused(ep, tool, {**base, field: text}, "invalid_arguments")
        assert field in err["message"]
    err = refused(ep, tool, {**base, field: '{"bogus": true, "name": "x"}'}, "invalid_arguments")
    assert err["details"]["unknown"] == ["bogus"] and "name" in err["details"]["allowed"]


def test_worklog_rules(ep):
    dev = member_of(ep, "WEB")
    ep.as_user(dev)
    for minutes in (0, -30, 24 * 60 + 1):
        refused(ep, "create_worklog", {"project_id": "WEB", "issue_id": "WEB-1", "description": "x",
                                       "duration": minutes}, "rule_violation")
    log = ok(ep, "create_worklog", {"project_id": "WEB", "issue_id": "WEB-1", "description": "Review", "duration": 45})
    refused(ep, "update_worklog", {"project_id": "WEB", "issue_id": "WEB-1", "worklog_id": str(log["id"]),
                                   "worklog_data": '{"duration": 0}'}, "rule_violation")
    other = ep.query("SELECT u.username FROM pl_project_members m JOIN users u ON u.id = m.user_id "
                     "WHERE m.project_id = 1 AND m.role = 15 AND u.username != ? AND u.role != 'admin' LIMIT 1", dev)
    ep.as_user(other[0]["username"])
    refused(ep, "update_worklog", {"project_id": "WEB", "issue_id": "WEB-1", "worklog_id": str(log["id"]),
                                   "worklog_data": '{"duration": 5}'}, "permission_denied")
    refused(ep, "delete_worklog", {"project_id": "WEB", "issue_id": "WEB-1", "worklog_id": str(log["id"])},
            "permission_denied")
    ep.as_user("jordan.lee")  # a workspace admin may correct anyone's log
    assert ok(ep, "update_worklog", {"project_id": "WEB", "issue_id": "WEB-1", "worklog_id": str(log["id"]),
                                     "worklog_data": '{"duration": 60}'})["duration"] == 60
    total = ok(ep, "get_total_worklogs", {"project_id": "WEB"})
    assert total["total_minutes"] == ep.query(
        "SELECT SUM(w.duration) AS m FROM pl_worklogs w JOIN pl_issues i ON i.id = w.issue_id "
        "WHERE i.project_id = 1")[0]["m"]


def test_roles_uniqueness_and_configuration_rules(ep):
    refused(ep, "create_project", {"name": "Website Revamp"}, "conflict")
    refused(ep, "create_project", {"name": "Another", "identifier": "WEB"}, "conflict")
    refused(ep, "create_project", {"name": "Another", "identifier": "NO-DASH"}, "invalid_arguments")
    refused(ep, "create_label", {"project_id": "WEB", "name": "x", "color": "blue"}, "invalid_arguments")
    label = ep.query("SELECT name FROM pl_labels WHERE project_id = 1 LIMIT 1")[0]["name"]
    refused(ep, "create_label", {"project_id": "WEB", "name": label.upper(), "color": "#000000"}, "conflict")
    refused(ep, "delete_state", {"project_id": "WEB", "state_id": "Backlog"}, "rule_violation")  # default
    busy = ep.query("SELECT s.name FROM pl_states s JOIN pl_issues i ON i.state_id = s.id WHERE s.project_id = 1 "
                    "AND s.is_default = 0 LIMIT 1")[0]["name"]
    refused(ep, "delete_state", {"project_id": "WEB", "state_id": busy}, "rule_violation")
    refused(ep, "delete_issue_type", {"project_id": "WEB", "type_id": "Task"}, "rule_violation")
    refused(ep, "get_issue", {"project_id": "WEB", "issue_id": "MOB-1"}, "not_found")
    refused(ep, "get_issue", {"project_id": "NOPE", "issue_id": "1"}, "not_found")

    outsider = ep.query("SELECT username FROM users u WHERE role = 'employee' AND status = 'active' AND NOT EXISTS "
                        "(SELECT 1 FROM pl_project_members m WHERE m.user_id = u.id AND m.project_id = 1) "
                        "ORDER BY id LIMIT 1")[0]["username"]
    refused(ep, "update_issue", {"project_id": "WEB", "issue_id": "WEB-1",
                                 "issue_data": json.dumps({"assignees": [outsider]})}, "rule_violation")
    ep.as_user(outsider)
    refused(ep, "plane_create_issue", {"project_id": "WEB", "name": "x", "description_html": ""}, "permission_denied")
    ep.as_user(member_of(ep, "WEB"))
    refused(ep, "delete_state", {"project_id": "WEB", "state_id": "Cancelled"}, "permission_denied")
    refused(ep, "add_project_member", {"project_id": "WEB", "member": outsider}, "permission_denied")
    not_mine = ep.query("SELECT i.sequence_id FROM pl_issues i JOIN users u ON u.id = i.created_by "
                        "WHERE i.project_id = 1 AND u.username != ? LIMIT 1", ep.ctx.actor["username"])
    refused(ep, "delete_issue", {"project_id": "WEB", "issue_id": f"WEB-{not_mine[0]['sequence_id']}"},
            "permission_denied")


def test_modules_group_issues(ep):
    mod = ok(ep, "create_module", {"project_id": "WEB", "name": "Checkout"})
    refused(ep, "create_module", {"project_id": "WEB", "name": "checkout"}, "conflict")
    web2 = ep.query("SELECT id FROM pl_issues WHERE project_id = 1 AND sequence_id = 2")[0]["id"]
    added = ok(ep, "add_module_issues", {"project_id": "WEB", "module_id": str(mod["id"]),
                                         "issues": json.dumps(["WEB-1", web2])})  # readable ids and plain ids mix
    assert added == {"module": "Checkout", "added": ["WEB-1", "WEB-2"], "already_in_module": []}
    again = ok(ep, "add_module_issues", {"project_id": "WEB", "module_id": "Checkout", "issues": "WEB-1"})
    assert again == {"module": "Checkout", "added": [], "already_in_module": ["WEB-1"]}
    refused(ep, "update_module", {"project_id": "WEB", "module_id": "Checkout",
                                  "module_data": '{"start_date": "2026-05-01", "target_date": "2026-04-01"}'},
            "rule_violation")
    refused(ep, "update_module", {"project_id": "WEB", "module_id": "Checkout", "module_data": '{"status": "done"}'},
            "invalid_arguments")
    ok(ep, "delete_module_issue", {"project_id": "WEB", "module_id": "Checkout", "issue_id": "WEB-1"})
    refused(ep, "delete_module_issue", {"project_id": "WEB", "module_id": "Checkout", "issue_id": "WEB-1"},
            "not_found")
    assert "WEB-1" not in [i["identifier"] for i in ok(ep, "list_module_issues", {
        "project_id": "WEB", "module_id": "Checkout"})["issues"]]


def test_hiring_joins_the_plane_workspace(ep):
    dept = ep.query("SELECT id FROM departments WHERE code = 'PRD'")[0]["id"]
    uid = hire(ep.ctx, first_name="Ida", last_name="Wren", department_id=dept, designation="Product Manager")
    assert ep.query("SELECT role FROM pl_workspace_members WHERE user_id = ?", uid) == [{"role": 15}]
    username = ep.query("SELECT username FROM users WHERE id = ?", uid)[0]["username"]
    assert username in {m["username"] for m in ok(ep, "get_workspace_members")["members"]}
    ok(ep, "add_project_member", {"project_id": "WEB", "member": username})
    ok(ep, "update_issue", {"project_id": "WEB", "issue_id": "WEB-1",
                            "issue_data": json.dumps({"assignees": [username]})})
    assert ep.query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND ref = 'plane:WEB-1'", uid) == [
        {"n": 1}]
