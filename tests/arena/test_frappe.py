"""Frappe HR on a real arena world (frappe + calendar + rocketchat + mail, small scale): the reference
tool surface, scripted workflows checked against the database, every enterprise rule refused with
the right code and an unchanged state, and the cross-app chains (leave approval -> calendar
block + e-mail; hire -> calendar + chat + mail accounts + org chart)."""
from __future__ import annotations


import pytest

from arena.core.registry import load_apps
from arena.core.world import World

from tests.arena.calls import ok, refused
from tests.arena.reference import reference_tools
JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array",
              "dict": "object"}


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["frappe", "calendar", "rocketchat", "mail"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def employee_with_manager(ep, *, without_leave=True):
    """A plain employee whose manager is a plain manager (not admin/hr), with no leave history."""
    cond = "AND NOT EXISTS (SELECT 1 FROM hr_leave_applications l WHERE l.employee_id = u.id)" if without_leave else ""
    row = ep.query(f"SELECT u.username, u.employee_id, m.username AS manager, m.employee_id AS manager_eid "
                   f"FROM users u JOIN users m ON m.id = u.manager_id WHERE u.role = 'employee' AND m.role = 'manager' "
                   f"{cond} ORDER BY u.id LIMIT 1")
    return row[0]


def test_surface_is_a_superset_of_the_reference_frappe_server(world):
    ref = reference_tools("frappe")
    tools = {t.name: t for t in world.tools("frappe")}
    for t in ref:
        assert t["name"] in tools, t["name"]
        schema = tools[t["name"]].input_schema
        required = set(schema.get("required", []))
        for p in t["params"]:
            prop = schema["properties"][p["name"]]
            assert (p["name"] in required) == p["required"], (t["name"], p["name"])
            assert prop.get("type") == JSON_TYPES[p["type"]], (t["name"], p["name"], prop)
        assert required <= {p["name"] for p in t["params"]}, t["name"]
    assert len(tools) >= 30


def test_leave_apply_approve_reduces_balance_and_blocks_calendar(ep):
    emp = employee_with_manager(ep)
    # a colleague invites the employee to a meeting inside the coming leave
    ep.as_user(emp["manager"])
    meeting = ok(ep, "calendar.create_event", {"title": "Roadmap sync", "start": "2026-03-10T10:00",
                                               "end": "2026-03-10T11:00", "attendees": [emp["username"]]})
    ep.as_user(emp["username"])
    before = ok(ep, "frappe.get_my_leave_balance", {"leave_type": "Casual Leave"})["leave_balances"][0]
    applied = ok(ep, "frappe.apply_leave", {"leave_type": "Casual Leave", "from_date": "2026-03-09",
                                            "to_date": "2026-03-11", "reason": "Family event"})
    assert applied["status"] == "Open" and applied["total_leave_days"] == 3
    assert applied["leave_approver"] == emp["manager_eid"]
    pending = ok(ep, "frappe.get_leave_balance", {"employee_id": emp["employee_id"],
                                                  "leave_type": "Casual Leave"})["leave_balances"][0]
    assert pending["pending"] == 3 and pending["balance"] == before["balance"]

    ep.as_user(emp["manager"])
    inbox = ep.query("SELECT text FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = ? "
                     "AND n.ref = ?", emp["manager"], applied["leave_application_id"])
    assert inbox and "please approve" in inbox[0]["text"]
    approved = ok(ep, "frappe.approve_leave", {"leave_application_id": applied["leave_application_id"]})
    assert approved["status"] == "Approved" and approved["attendance_marked"] == 3
    assert approved["remaining_balance"] == before["balance"] - 3

    ep.as_user(emp["username"])
    after = ok(ep, "frappe.get_my_leave_balance", {"leave_type": "Casual Leave"})["leave_balances"][0]
    assert after["balance"] == before["balance"] - 3 and after["taken"] == before["taken"] + 3
    assert after["pending"] == 0
    # calendar: one busy all-day out-of-office block spanning the leave, the meeting declined
    ooo = ep.query("SELECT e.start_at, e.end_at, e.busy, e.all_day, e.source_ref FROM cal_events e "
                   "JOIN users u ON u.id = e.organizer_id WHERE u.username = ? AND e.kind = 'out_of_office'",
                   emp["username"])
    assert ooo == [{"start_at": "2026-03-09T00:00:00", "end_at": "2026-03-12T00:00:00", "busy": 1, "all_day": 1,
                    "source_ref": applied["leave_application_id"]}]
    fb = ok(ep, "calendar.get_free_busy", {"users": [emp["username"]], "time_min": "2026-03-10T00:00",
                                           "time_max": "2026-03-11T00:00"})
    assert fb["calendars"][emp["username"]]["out_of_office"] is True
    assert ok(ep, "calendar.find_free_slots", {"users": [emp["username"]], "date": "2026-03-10",
                                               "duration_minutes": 30})["slots"] == []
    assert ok(ep, "calendar.get_event", {"event_id": meeting["event_id"]})["attendees"][1]["response"] == "declined"
    attendance = ep.query("SELECT attendance_date, a.status FROM hr_attendance a JOIN users u ON u.id = a.employee_id "
                          "WHERE u.username = ? AND attendance_date BETWEEN '2026-03-09' AND '2026-03-11' "
                          "ORDER BY attendance_date", emp["username"])
    assert [r["status"] for r in attendance] == ["On Leave"] * 3
    inbox = ep.query("SELECT m.subject, m.body FROM mail_messages m JOIN users u ON u.id = m.owner_id "
                     "WHERE u.username = ? AND m.folder = 'INBOX' AND m.subject LIKE 'Leave approved%'", emp["username"])
    assert len(inbox) == 1 and applied["leave_application_id"] in inbox[0]["body"]
    diff = ep.diff()
    assert len(diff["hr_leave_applications"]["inserted"]) == 1
    assert diff["hr_leave_applications"]["inserted"][0]["status"] == "Approved"
    assert len(diff["hr_attendance"]["inserted"]) == 3
    assert {r["kind"] for r in diff["cal_events"]["inserted"]} == {"meeting", "out_of_office"}


def test_nobody_approves_their_own_leave(ep):
    emp = employee_with_manager(ep)
    ep.as_user(emp["manager"])  # a manager applies; they may not approve it themself
    own = ok(ep, "frappe.apply_leave", {"leave_type": "Sick Leave", "from_date": "2026-03-16",
                                        "to_date": "2026-03-16"})
    err = refused(ep, "frappe.approve_leave", {"leave_application_id": own["leave_application_id"]},
                  "permission_denied")
    assert "own leave" in err["message"]
    ep.as_user("jordan.lee")  # not even an admin
    mine = ok(ep, "frappe.apply_leave", {"leave_type": "Casual Leave", "from_date": "2026-03-17",
                                         "to_date": "2026-03-17"})
    refused(ep, "frappe.approve_leave", {"leave_application_id": mine["leave_application_id"]}, "permission_denied")
    refused(ep, "frappe.reject_leave", {"leave_application_id": mine["leave_application_id"]}, "permission_denied")
    # an unrelated plain employee cannot approve someone else's leave either
    ep.as_user(emp["username"])
    refused(ep, "frappe.approve_leave", {"leave_application_id": own["leave_application_id"]}, "permission_denied")


def test_leave_balance_never_goes_negative(ep):
    emp = employee_with_manager(ep)
    ep.as_user(emp["username"])
    # Sick Leave: 10 days; 2026-03-02 .. 2026-03-16 holds 11 working days
    err = refused(ep, "frappe.apply_leave", {"leave_type": "Sick Leave", "from_date": "2026-03-02",
                                             "to_date": "2026-03-16"}, "rule_violation")
    assert err["details"]["requested"] == 11 and err["details"]["available"] == 10
    # pending applications count against what is left
    ok(ep, "frappe.apply_leave", {"leave_type": "Sick Leave", "from_date": "2026-04-06", "to_date": "2026-04-17"})
    refused(ep, "frappe.apply_leave", {"leave_type": "Sick Leave", "from_date": "2026-04-20", "to_date": "2026-04-20"},
            "rule_violation")
    # approval checks again: HR cut the allocation (outside the agent's tools) after the application
    first = ep.query("SELECT name FROM hr_leave_applications l JOIN users u ON u.id = l.employee_id "
                     "WHERE u.username = ? AND l.status = 'Open'", emp["username"])[0]["name"]
    ep.db.execute("UPDATE hr_leave_allocations SET new_leaves_allocated = 5 WHERE employee_id = "
                  "(SELECT id FROM users WHERE username = ?) AND leave_type_id = "
                  "(SELECT id FROM hr_leave_types WHERE name = 'Sick Leave')", (emp["username"],))
    ep.as_user(emp["manager"])
    refused(ep, "frappe.approve_leave", {"leave_application_id": first}, "rule_violation")


def test_leave_rules_overlap_transitions_and_bad_input(ep):
    emp = employee_with_manager(ep)
    ep.as_user(emp["username"])
    app_id = ok(ep, "frappe.apply_leave", {"leave_type": "Casual Leave", "from_date": "2026-05-04",
                                           "to_date": "2026-05-05"})["leave_application_id"]
    refused(ep, "frappe.apply_leave", {"leave_type": "Privilege Leave", "from_date": "2026-05-05",
                                       "to_date": "2026-05-06"}, "conflict")
    refused(ep, "frappe.apply_leave", {"leave_type": "Casual Leave", "from_date": "2026-05-09",
                                       "to_date": "2026-05-10"}, "rule_violation")  # a weekend
    refused(ep, "frappe.apply_leave", {"leave_type": "Casual Leave", "from_date": "2026-05-12",
                                       "to_date": "2026-05-11"}, "invalid_arguments")
    refused(ep, "frappe.apply_leave", {"leave_type": "Casual Leave", "from_date": "12/05/2026",
                                       "to_date": "2026-05-12"}, "invalid_arguments")
    refused(ep, "frappe.apply_leave", {"leave_type": "Vacation", "from_date": "2026-05-12",
                                       "to_date": "2026-05-12"}, "not_found")
    ep.as_user(emp["manager"])
    ok(ep, "frappe.reject_leave", {"leave_application_id": app_id, "reason": "Release week"})
    assert ep.query("SELECT COUNT(*) AS n FROM mail_messages m JOIN users u ON u.id = m.owner_id WHERE u.username = ? "
                    "AND m.subject LIKE 'Leave rejected%' AND m.body LIKE '%Release week%'", emp["username"]) == [{"n": 1}]
    refused(ep, "frappe.approve_leave", {"leave_application_id": app_id}, "invalid_transition")
    ep.as_user(emp["username"])
    refused(ep, "frappe.cancel_leave", {"leave_application_id": app_id}, "invalid_transition")
    refused(ep, "frappe.approve_leave", {"leave_application_id": "HR-LAP-2026-99999"}, "not_found")
    status = ep.query("SELECT status FROM hr_leave_applications WHERE name = ?", app_id)[0]["status"]
    assert status == "Rejected"


def test_hire_provisions_calendar_chat_and_places_under_manager(ep):
    manager = ep.query("SELECT username, employee_id FROM users WHERE designation = 'Engineering Manager' "
                       "ORDER BY id LIMIT 1")[0]
    ep.as_user(employee_with_manager(ep)["username"])
    refused(ep, "frappe.create_employee", {"first_name": "Nadia", "last_name": "Okoro", "department": "ENG",
                                           "designation": "Software Engineer"}, "permission_denied")
    ep.as_user("jordan.lee")
    refused(ep, "frappe.create_employee", {"first_name": "Nadia", "last_name": "Okoro", "department": "Astrology",
                                           "designation": "Software Engineer"}, "not_found")
    hired = ok(ep, "frappe.create_employee", {"first_name": "Nadia", "last_name": "Okoro", "department": "Engineering",
                                              "designation": "Software Engineer", "reports_to": manager["employee_id"],
                                              "skills": "Python, Kafka"})
    assert hired["reports_to"] == manager["employee_id"] and hired["user_id"] == "nadia.okoro"
    uid = ep.query("SELECT id FROM users WHERE employee_id = ?", hired["employee_id"])[0]["id"]
    assert ep.query("SELECT timezone FROM cal_calendars WHERE owner_id = ?", uid) != []
    assert ep.query("SELECT username FROM chat_accounts WHERE user_id = ?", uid) == [{"username": "nadia.okoro"}]
    assert ep.query("SELECT address FROM mail_accounts WHERE user_id = ?", uid) == [{"address": hired["company_email"]}]
    assert ep.query("SELECT COUNT(*) AS n FROM hr_leave_allocations WHERE employee_id = ?", uid) == [{"n": 3}]
    chart = ok(ep, "frappe.get_org_chart", {"employee_id": manager["employee_id"], "depth": 1})["org_chart"][0]
    assert chart["employee_id"] == manager["employee_id"]
    assert hired["employee_id"] in [r["employee_id"] for r in chart["reports"]]
    profile = ok(ep, "frappe.get_employee", {"employee_id": hired["employee_id"]})
    assert profile["skills"] == ["kafka", "python"] and profile["department"] == "Engineering"
    whole = ok(ep, "frappe.get_org_chart", {"depth": 6})
    assert whole["people"] == ep.query("SELECT COUNT(*) AS n FROM users WHERE status = 'active'")[0]["n"]


def test_update_employee_rules(ep):
    emp = employee_with_manager(ep)
    ep.as_user("jordan.lee")
    # a manager cannot report to someone in their own reporting line
    refused(ep, "frappe.update_employee", {"employee_id": emp["manager_eid"], "reports_to": emp["employee_id"]},
            "rule_violation")
    refused(ep, "frappe.update_employee", {"employee_id": emp["manager_eid"], "status": "Left"}, "rule_violation")
    refused(ep, "frappe.update_employee", {"employee_id": emp["employee_id"]}, "invalid_arguments")
    res = ok(ep, "frappe.update_employee", {"employee_id": emp["employee_id"], "designation": "Team Lead",
                                            "branch": "Lisbon"})
    assert res["designation"] == "Team Lead" and res["updated"] == ["branch", "designation"]
    assert ep.diff()["users"]["updated"][0]["changes"]["designation"]["after"] == "Team Lead"


def test_expense_claim_workflow_and_rules(ep):
    emp = employee_with_manager(ep)
    ep.as_user(emp["username"])
    refused(ep, "frappe.create_expense_claim", {"expense_type": "Travel", "amount": 0}, "invalid_arguments")
    refused(ep, "frappe.create_expense_claim", {"expense_type": "Yacht", "amount": 10}, "invalid_arguments")
    claim = ok(ep, "frappe.create_expense_claim", {"expense_type": "travel", "amount": 182.4,
                                                   "expense_date": "2026-02-26", "description": "Train to Paris"})
    cid = claim["expense_claim_id"]
    ep.as_user(emp["manager"])
    refused(ep, "frappe.approve_expense_claim", {"expense_claim_id": cid}, "invalid_transition")  # still Draft
    ep.as_user(emp["username"])
    ok(ep, "frappe.submit_expense_claim", {"expense_claim_id": cid})
    refused(ep, "frappe.approve_expense_claim", {"expense_claim_id": cid}, "permission_denied")  # own claim
    ep.as_user(emp["manager"])
    done = ok(ep, "frappe.approve_expense_claim", {"expense_claim_id": cid, "remarks": "ok"})
    assert done["status"] == "Approved"
    refused(ep, "frappe.reject_expense_claim", {"expense_claim_id": cid}, "invalid_transition")
    listed = ok(ep, "frappe.get_expense_claims", {"employee_id": emp["employee_id"], "status": "Approved"})
    assert cid in [c["expense_claim_id"] for c in listed["expense_claims"]]
    row = ep.query("SELECT status, amount, expense_type FROM hr_expense_claims WHERE name = ?", cid)[0]
    assert row == {"status": "Approved", "amount": 182.4, "expense_type": "Travel"}


def test_attendance_checkin_and_timesheet_rules(ep):
    emp = employee_with_manager(ep)
    ep.as_user(emp["username"])
    ok(ep, "frappe.mark_attendance", {"status": "Work From Home"})
    refused(ep, "frappe.mark_attendance", {"status": "Present"}, "conflict")
    refused(ep, "frappe.mark_attendance", {"status": "Present", "attendance_date": "2026-03-05"}, "rule_violation")
    refused(ep, "frappe.mark_attendance", {"status": "Sleeping"}, "invalid_arguments")
    other = ep.query("SELECT employee_id FROM users WHERE role = 'employee' AND manager_id != "
                     "(SELECT manager_id FROM users WHERE username = ?) LIMIT 1", emp["username"])[0]
    refused(ep, "frappe.mark_attendance", {"status": "Present", "employee_id": other["employee_id"]},
            "permission_denied")
    ok(ep, "frappe.checkin", {"log_type": "IN", "time": "2026-03-02T08:55:00"})
    refused(ep, "frappe.checkin", {"log_type": "OUT", "time": "2026-03-02T18:00:00"}, "rule_violation")
    refused(ep, "frappe.create_timesheet", {"time_logs": [
        {"activity_type": "Development", "from_time": "2026-02-23T09:00", "hours": 3},
        {"activity_type": "Meeting", "from_time": "2026-02-23T11:00", "to_time": "2026-02-23T12:00"}]},
        "rule_violation")
    refused(ep, "frappe.create_timesheet", {"time_logs": [{"activity": "Development", "from_time": "2026-02-23T09:00",
                                                            "hours": 3}]}, "invalid_arguments")
    ts = ok(ep, "frappe.create_timesheet", {"time_logs": [
        {"activity_type": "Development", "from_time": "2026-02-23T09:00", "hours": 3, "project": "PROJ-0001"},
        {"activity_type": "Code Review", "from_time": "2026-02-23T13:00", "to_time": "2026-02-23T14:30"}]})
    assert ts["total_hours"] == 4.5
    ok(ep, "frappe.submit_timesheet", {"timesheet_id": ts["timesheet_id"]})
    refused(ep, "frappe.submit_timesheet", {"timesheet_id": ts["timesheet_id"]}, "invalid_transition")
    got = ok(ep, "frappe.get_timesheets", {"status": "Submitted", "employee_id": emp["username"]})["timesheets"]
    assert [len(t["time_logs"]) for t in got if t["timesheet_id"] == ts["timesheet_id"]] == [2]


def test_recruitment_ranking_is_well_defined_and_pipeline_rules(ep):
    openings = ok(ep, "frappe.get_job_openings", {"status": "Open"})["job_openings"]
    backend = next(o for o in openings if o["job_title"] == "Senior Backend Engineer")
    assert backend["required_skills"] == ["python", "postgres", "kafka", "kubernetes"]
    manager = ok(ep, "frappe.get_employee", {"employee_id": backend["hiring_manager"]})
    assert manager["designation"] == "Engineering Manager" and manager["department"] == "Engineering"
    for o in openings:
        applicants = ok(ep, "frappe.get_job_applicants", {"job_opening": o["job_opening_id"]})["job_applicants"]
        assert 5 <= len(applicants) <= 10
        scores = sorted((len(set(a["skills"]) & set(o["required_skills"])) for a in applicants), reverse=True)
        assert len(set(scores[:4])) == 4 and scores[4:] == [s for s in scores[4:] if s < scores[3]], (o, scores)
        for a in applicants:  # the resume lists the same skills the record does
            assert all(f"- {s}:" in a["resume_text"] for s in a["skills"])
    top = ok(ep, "frappe.get_job_applicants", {"job_opening": "Senior Backend Engineer"})["job_applicants"][0]
    ep.as_user(employee_with_manager(ep)["username"])
    refused(ep, "frappe.update_job_applicant", {"applicant_id": top["applicant_id"], "status": "Accepted"},
            "permission_denied")
    ep.as_user(manager["user_id"])
    ok(ep, "frappe.update_job_applicant", {"applicant_id": top["applicant_id"], "status": "Accepted"})
    refused(ep, "frappe.update_job_applicant", {"applicant_id": top["applicant_id"], "status": "Open"},
            "invalid_transition")
    ep.as_user("jordan.lee")
    closed = ok(ep, "frappe.get_job_openings", {"status": "Closed"})["job_openings"][0]
    refused(ep, "frappe.create_job_applicant", {"applicant_name": "Ann Lee", "email_id": "ann@example.net",
                                                "job_opening": closed["job_opening_id"]}, "rule_violation")
    new = ok(ep, "frappe.create_job_applicant", {"applicant_name": "Ann Lee", "email_id": "ann@example.net",
                                                 "job_opening": backend["job_opening_id"], "skills": "python,go"})
    refused(ep, "frappe.create_job_applicant", {"applicant_name": "Ann Lee", "email_id": "ANN@example.net",
                                                "job_opening": backend["job_opening_id"]}, "conflict")
    refused(ep, "frappe.create_job_opening", {"job_title": "Senior Backend Engineer", "designation": "Senior Software Engineer",
                                              "department": "ENG"}, "conflict")
    details = ok(ep, "frappe.get_job_opening_details", {"job_opening_id": backend["job_opening_id"]})
    assert details["applicants_by_status"]["Accepted"] == 1 and details["applicants"] == len(
        ep.query("SELECT 1 FROM hr_job_applicants a JOIN hr_job_openings o ON o.id = a.job_opening_id "
                 "WHERE o.job_opening_id = ?", backend["job_opening_id"]))
    assert ep.query("SELECT status FROM hr_job_applicants WHERE applicant_id = ?", new["applicant_id"]) == [
        {"status": "Open"}]


def test_payroll_privacy_and_reports(ep):
    emp = employee_with_manager(ep)
    ep.as_user(emp["username"])
    slip = ok(ep, "frappe.get_salary_slip", {"month": "2026-02"})
    assert round(slip["gross_pay"] - slip["total_deduction"], 2) == slip["net_pay"] > 0
    refused(ep, "frappe.get_salary_slip", {"employee_id": emp["manager_eid"]}, "permission_denied")
    refused(ep, "frappe.get_payroll_entry", {}, "permission_denied")
    refused(ep, "frappe.get_hrms_report", {"report_name": "Salary Register"}, "permission_denied")
    refused(ep, "frappe.get_hrms_report", {"report_name": "Leave Ledger"}, "not_found")
    refused(ep, "frappe.get_hrms_report", {"report_name": "Employee Leave Balance", "filters": {"dept": "ENG"}},
            "invalid_arguments")
    ep.as_user("jordan.lee")
    report = ok(ep, "frappe.get_hrms_report", {"report_name": "employee leave balance",
                                               "filters": {"employee": emp["employee_id"]}})
    direct = ok(ep, "frappe.get_leave_balance", {"employee_id": emp["employee_id"]})["leave_balances"]
    assert [(r["leave_type"], r["balance"], r["pending"]) for r in report["rows"]] == \
        [(b["leave_type"], b["balance"], b["pending"]) for b in direct]
    register = ok(ep, "frappe.get_hrms_report", {"report_name": "Salary Register", "filters": {"month": "2026-02"}})
    entry = ok(ep, "frappe.get_payroll_entry", {"status": "Submitted"})["payroll_entries"][0]
    assert round(register["total_net_pay"], 2) == entry["total_net_pay"]
    assert len(register["rows"]) == entry["number_of_employees"]
    heads = ok(ep, "frappe.get_hrms_report", {"report_name": "Employee Analytics"})
    assert heads["total"] == sum(d["headcount"] for d in ok(ep, "frappe.list_departments")["departments"])


def test_seed_is_deterministic_and_linked(world):
    again = World(load_apps(["frappe", "calendar", "rocketchat", "mail"]), seed=0, scale="small")
    q = "SELECT name, employee_id, from_date, status FROM hr_leave_applications ORDER BY id"
    with world.episode() as a, again.episode() as b:
        assert a.query(q) == b.query(q) and a.query(q)
        orphans = a.query("SELECT COUNT(*) AS n FROM hr_leave_applications l LEFT JOIN users u "
                          "ON u.id = l.employee_id WHERE u.id IS NULL")
        assert orphans == [{"n": 0}]
        # every seeded approved leave blocked its employee's calendar
        assert a.query("SELECT COUNT(*) AS n FROM hr_leave_applications WHERE status = 'Approved'") == \
            a.query("SELECT COUNT(*) AS n FROM cal_events WHERE kind = 'out_of_office'")


def test_seed_invariants_hold_at_medium_scale():
    """More people, more openings: balances stay non-negative, rankings stay unambiguous."""
    medium = World(load_apps(["frappe"]), seed=3, scale="medium")
    with medium.episode() as ep:
        negative = ok(ep, "frappe.get_hrms_report", {"report_name": "Employee Leave Balance"})["rows"]
        assert negative and all(r["balance"] - r["pending"] >= 0 for r in negative)
        openings = ep.query("SELECT id, required_skills FROM hr_job_openings")
        assert len(openings) > 8
        for o in openings:
            req = set(o["required_skills"].split(","))
            scores = sorted((len(req & set(a["skills"].split(","))) for a in ep.query(
                "SELECT skills FROM hr_job_applicants WHERE job_opening_id = ?", o["id"])), reverse=True)
            assert len(set(scores[:4])) == 4 and all(s < scores[3] for s in scores[4:]), scores
