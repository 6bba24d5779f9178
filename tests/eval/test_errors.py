"""Automatic error analysis on hand-made failed episodes, one per class."""
from elab_hpc.eval.errors import analyze, classify

GOLD = ["frappe.apply_leave", "frappe.approve_leave", "calendar.create_event"]


def ep(actions, turns=4, fmt=0, stop="answer", success=False):
    return {"task_id": "t", "success": success, "gold_tools": GOLD, "apps": ["calendar", "frappe"],
            "actions": actions, "turns": turns, "format_errors": fmt, "stop_reason": stop}


def ok(tool, args=None):
    return {"tool": tool, "args": args or {}, "ok": True}


def bad(tool, code, args=None):
    return {"tool": tool, "args": args or {}, "ok": False, "error": {"code": code, "message": "x"}}


def test_each_failure_class():
    assert classify(ep([], turns=3, fmt=3))["class"] == "format_error"
    assert classify(ep([ok("gitlab.list_projects")]))["class"] == "domain_misselection"
    assert classify(ep([bad("frappe.apply_lave", "unknown_tool")]))["class"] == "domain_misselection"
    assert classify(ep([bad("frappe.apply_leave", "invalid_arguments")]))["class"] == "tool_parameter"
    same = {"employee_id": "HR-EMP-00002"}
    assert classify(ep([ok("frappe.apply_leave", same), ok("frappe.apply_leave", same)]))["class"] == "context_loss"
    got = classify(ep([ok("frappe.apply_leave")]))
    assert got["class"] == "task_decomposition" and "frappe.approve_leave" in got["detail"]
    assert classify(ep([ok(t) for t in GOLD]))["class"] == "other"


def test_analyze_counts_shares_examples():
    eps = [ep([], turns=2, fmt=2), ep([], turns=2, fmt=2), ep([ok("frappe.apply_leave")]),
           ep([ok(t) for t in GOLD], success=True)]
    a = analyze(eps, examples=1)
    assert a["failed"] == 3
    assert a["counts"]["format_error"] == 2 and a["counts"]["task_decomposition"] == 1
    assert abs(a["shares"]["format_error"] - 2 / 3) < 1e-9
    assert len(a["examples"]["format_error"]) == 1
