"""Checks against the real arena: derived from real tool calls, they pass on the state the calls
made and fail on a fresh state where the calls were not made."""
from __future__ import annotations

import pytest

from arena import Arena
from elab_hpc.env.checks import CheckError, derive_checks, run_checks, scalar_values


@pytest.fixture(scope="module")
def arena():
    return Arena(seed=0, scale="small")


def _passed(results):
    return [r["passed"] for r in results]


def test_insert_update_delete_checks_pass_after_and_fail_before(arena):
    with arena.episode() as ep:
        create = {"project_id": "1", "title": "Checks test issue", "labels": ["bug"]}
        assert ep.call("gitlab.create_issue", create).ok
        assert ep.call("gitlab.close_issue", {"project_id": "1", "issue_iid": 1}).ok
        assert ep.call("zammad.zammad_remove_ticket_tag", {"ticket_id": 1, "tag": "login"}).ok
        diff = ep.diff()
        checks = derive_checks(diff, args_values=scalar_values(create) | {"1", "login"})
        kinds = {(c["type"], c["table"]) for c in checks}
        assert ("row_exists", "gl_issues") in kinds
        assert ("field_equals", "gl_issues") in kinds
        assert ("row_absent", "zm_tags") in kinds
        # volatile columns are never asserted
        for c in checks:
            assert "id" not in c.get("where", {}) or c["type"] != "row_exists"
            assert c.get("column") not in ("updated_at", "closed_at", "last_activity_at")
        new_issue = next(c for c in checks if c["type"] == "row_exists" and c["table"] == "gl_issues")
        assert new_issue["where"]["title"] == "Checks test issue"
        assert all(_passed(run_checks(checks, ep, "")))
    with arena.episode() as fresh:
        results = run_checks(checks, fresh, "")
        assert not any(_passed(results)), results


def test_bookkeeping_tables_are_skipped(arena):
    with arena.episode() as ep:
        # assigning a ticket notifies its new owner: the notification is a side effect
        agent = ep.query("SELECT t.id AS tid, u.login FROM zm_tickets t "
                         "JOIN zm_group_members m ON m.group_id = t.group_id JOIN zm_users u ON u.user_id = m.agent_id "
                         "WHERE t.state IN ('new', 'open') AND u.login != 'jordan.lee' ORDER BY t.id, u.login LIMIT 1")[0]
        assert ep.call("zammad.zammad_update_ticket", {"ticket_id": agent["tid"], "owner": agent["login"]}).ok
        diff = ep.diff()
    assert "notifications" in diff
    checks = derive_checks(diff)
    assert any(c["table"] == "zm_tickets" and c["type"] == "field_equals" for c in checks)
    assert all(c["table"] != "notifications" for c in checks)


def test_answer_checks_are_case_insensitive_substrings():
    checks = [{"type": "answer_contains", "value": "Billing Service"},
              {"type": "answer_matches_any", "values": ["Nope", "mobile app"]}]
    assert _passed(run_checks(checks, None, "The projects are billing service and Mobile App.")) == [True, True]
    assert _passed(run_checks(checks, None, "I could not find anything.")) == [False, False]


def test_row_count_and_field_equals_on_seeded_state(arena):
    with arena.episode() as ep:
        n = ep.query("SELECT COUNT(*) AS n FROM gl_issues WHERE project_id = 1")[0]["n"]
        checks = [{"type": "row_count", "table": "gl_issues", "where": {"project_id": 1}, "op": "==", "value": n},
                  {"type": "row_count", "table": "gl_issues", "where": {"project_id": 1}, "op": ">", "value": n},
                  {"type": "field_equals", "table": "gl_projects", "where": {"id": 1}, "column": "name",
                   "value": "Billing Service"},
                  {"type": "field_equals", "table": "gl_projects", "where": {"id": 999}, "column": "name",
                   "value": "Billing Service"}]
        assert _passed(run_checks(checks, ep, "")) == [True, False, True, False]


@pytest.mark.parametrize("check, needle", [
    ({"type": "row_exists", "table": "gl_issues; DROP TABLE users", "where": {}}, "unknown table"),
    ({"type": "row_exists", "table": "gl_issues", "where": {"title) OR (1": "x"}}, "has no column"),
    ({"type": "field_equals", "table": "gl_issues", "where": {"id": 1}, "column": "nope", "value": 1}, "no column 'nope'"),
    ({"type": "row_count", "table": "gl_issues", "where": {}, "op": "~", "value": 1}, "op '~'"),
    ({"type": "answer_contains"}, "missing or empty 'value'"),
    ({"type": "probe", "tool": "x", "path": "a"}, "exactly one of"),
    ({"type": "teleport"}, "unknown type 'teleport'"),
])
def test_malformed_checks_are_rejected_before_any_runs(arena, check, needle):
    good = {"type": "answer_contains", "value": "x"}
    with arena.episode() as ep:
        with pytest.raises(CheckError) as err:
            run_checks([good, check], ep, "x")
    assert needle in str(err.value)
    assert "check 1" in str(err.value)


def test_probe_calls_a_read_only_tool_through_the_callers_function(arena):
    with arena.episode() as ep:
        assert ep.call("rocketchat.create_channel", {"name": "probe-test"}).ok
        call = ep.call  # any `call(tool, args)` works; here the arena's own (a real MCP env would pass its client)
        checks = [{"type": "probe", "tool": "rocketchat.get_channels", "args": {}, "path": "channels",
                   "contains": None},
                  {"type": "probe", "tool": "rocketchat.get_server_info", "args": {}, "path": "channels",
                   "equals": 14},
                  {"type": "probe", "tool": "rocketchat.get_server_info", "args": {}, "path": "nope", "equals": 1}]
        checks[0]["contains"] = next(c for c in ep.call("rocketchat.get_channels", {}).result["channels"]
                                     if c["name"] == "probe-test")
        assert _passed(run_checks(checks, ep, "", call=call)) == [True, True, False]
    with arena.episode() as fresh:
        assert _passed(run_checks(checks[1:2], fresh, "", call=fresh.call)) == [False]


def test_short_answer_values_match_whole_words_only():
    checks = [{"type": "answer_contains", "value": "IT"}, {"type": "answer_contains", "value": "42"}]
    assert _passed(run_checks(checks, None, "The IT group has 42 members.")) == [True, True]
    assert _passed(run_checks(checks, None, "I could not find it in 2042.")) == [True, False]
    assert _passed(run_checks(checks, None, "Nothing with 142 items.")) == [False, False]
