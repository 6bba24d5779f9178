"""Frappe HR tools. The first 23 follow the published arena's Frappe HR MCP server exactly (names,
parameters, required/optional); the rest are the real HRMS actions a workflow needs around them
(hiring, rejecting/cancelling leave, the expense-claim workflow, applicants, shifts, org chart).

Who may do what (as in a default Frappe HRMS setup):
- reading the directory (employees, departments, org chart, job openings) — everyone;
- an employee's leave, attendance, timesheets, expense claims — the employee, their manager, HR, admin;
- approving/rejecting leave — the applicant's manager, HR or admin; never the applicant themself;
- approving expense claims — the employee's manager, HR, finance or admin; never the claimant;
- salary slips — the employee, HR, finance, admin; payroll entries — HR, finance, admin;
- hiring, updating employees, job openings — HR or admin.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field

from arena.apps.frappe import app, domain, words
from arena.apps.frappe.reports import REPORTS, run_report
from arena.core.company import hire
from arena.core.errors import ToolError, not_found

# Allowed state changes, per document type: current status -> statuses it may move to.
LEAVE_TRANSITIONS = {"Open": {"Approved", "Rejected", "Cancelled"}, "Approved": set(), "Rejected": set(),
                     "Cancelled": set()}
EXPENSE_TRANSITIONS = {"Draft": {"Submitted"}, "Submitted": {"Approved", "Rejected"}, "Approved": set(),
                       "Rejected": set()}
TIMESHEET_TRANSITIONS = {"Draft": {"Submitted", "Cancelled"}, "Submitted": {"Cancelled"}, "Cancelled": set()}
APPLICANT_TRANSITIONS = {"Open": {"Replied", "Hold", "Accepted", "Rejected"},
                         "Replied": {"Hold", "Accepted", "Rejected"},
                         "Hold": {"Open", "Replied", "Accepted", "Rejected"},
                         "Accepted": set(), "Rejected": set()}

EmployeeOpt = Annotated[str | None, Field(
    description="Employee id (e.g. HR-EMP-00007), username or email; defaults to you")]
EmployeeReq = Annotated[str, Field(description="Employee id (e.g. HR-EMP-00007), username or email", min_length=1)]
Limit = Annotated[int, Field(description="Maximum number of records to return", ge=1, le=500)]
DateOpt = Annotated[str | None, Field(description="Date, YYYY-MM-DD")]
LeaveStatus = Literal["Open", "Approved", "Rejected", "Cancelled"]
AttendanceStatus = Literal["Present", "Absent", "On Leave", "Half Day", "Work From Home"]

_EMP_SELECT = (
    "SELECT e.*, d.name AS department_name, m.employee_id AS manager_eid, m.full_name AS manager_name "
    "FROM users e LEFT JOIN departments d ON d.id = e.department_id LEFT JOIN users m ON m.id = e.manager_id ")


def _transition(kind: str, table: dict[str, set[str]], ident: str, current: str, target: str) -> None:
    if target not in table[current]:
        allowed = sorted(table[current])
        raise ToolError("invalid_transition",
                        f"{kind} {ident} is {current}; it cannot become {target}"
                        + (f" (allowed: {', '.join(allowed)})" if allowed else " (it is final)"),
                        current=current, target=target, allowed=allowed)


def _employee_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"employee_id": row["employee_id"], "employee_name": row["full_name"], "first_name": row["first_name"],
            "last_name": row["last_name"], "user_id": row["username"], "company_email": row["email"],
            "department": row["department_name"], "designation": row["designation"],
            "reports_to": row["manager_eid"], "reports_to_name": row["manager_name"],
            "status": "Active" if row["status"] == "active" else "Left", "date_of_joining": row["date_joined"],
            "branch": row["location"], "role": row["role"],
            "skills": [s for s in row["skills"].split(",") if s]}


def _employee_full(ctx, user_id: int) -> dict[str, Any]:
    return _employee_view(ctx.one(_EMP_SELECT + "WHERE e.id = ?", user_id))


def _scope(ctx, employee_id: str | None, action: str, also: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
    """SQL filter (on alias e = users) for the records the actor may list."""
    if employee_id:
        emp = domain.employee(ctx, employee_id)
        domain.require_self_or_manager(ctx, emp, action, also)
        return "e.id = ?", [emp["id"]]
    if domain.is_hr(ctx) or ctx.actor["role"] in also:
        return "1 = 1", []
    return "(e.id = ? OR e.manager_id = ?)", [ctx.actor["id"], ctx.actor["id"]]


def _date_range(from_date: str | None, to_date: str | None) -> None:
    f = domain.parse_date(from_date, "from_date") if from_date else None
    t = domain.parse_date(to_date, "to_date") if to_date else None
    if f and t and t < f:
        raise ToolError("invalid_arguments", f"to_date {to_date} is before from_date {from_date}", field="to_date")


# ================================ employees ====================================================


@app.tool(read_only=True)
def get_my_profile(ctx) -> dict:
    """Your own employee record: employee id, name, department, designation, manager, joining date."""
    return _employee_full(ctx, ctx.actor["id"])


@app.tool(read_only=True)
def get_employee(ctx, employee_id: EmployeeReq) -> dict:
    """One employee's record (directory data: department, designation, reports_to, status)."""
    return _employee_full(ctx, domain.employee(ctx, employee_id)["id"])


@app.tool(read_only=True)
def search_employees(
    ctx,
    department: Annotated[str | None, Field(description="Department name or code, e.g. 'Engineering' or 'ENG'")] = None,
    designation: Annotated[str | None, Field(description="Designation, or part of it (case-insensitive)")] = None,
    status: Annotated[Literal["Active", "Left"] | None, Field(description="Employment status")] = None,
    limit: Limit = 20,
    employee_name: Annotated[str | None, Field(description="Name, or part of it (case-insensitive)")] = None,
) -> dict:
    """Search the employee directory by department, designation, status or name."""
    where, args = ["1 = 1"], []
    if department:
        where.append("e.department_id = ?")
        args.append(domain.department(ctx, department)["id"])
    if designation:
        where.append("e.designation LIKE ?")
        args.append(f"%{designation}%")
    if status:
        where.append("e.status = ?")
        args.append(status.lower() if status == "Active" else "left")
    if employee_name:
        where.append("e.full_name LIKE ?")
        args.append(f"%{employee_name}%")
    rows = ctx.all(_EMP_SELECT + "WHERE " + " AND ".join(where) + " ORDER BY e.id LIMIT ?", *args, limit)
    total = ctx.scalar("SELECT COUNT(*) FROM users e WHERE " + " AND ".join(where), *args)
    return {"employees": [_employee_view(r) for r in rows], "total": total}


@app.tool(returns={"employee_id": "string", "user_id": "string", "company_email": "string", "reports_to": "string"})
def create_employee(
    ctx,
    first_name: Annotated[str, Field(description="First name", min_length=1, max_length=60)],
    last_name: Annotated[str, Field(description="Last name", min_length=1, max_length=60)],
    department: Annotated[str, Field(description="Department name or code, e.g. 'Engineering' or 'ENG'")],
    designation: Annotated[str, Field(description="Job title, e.g. 'Software Engineer'", min_length=1)],
    reports_to: Annotated[str | None, Field(
        description="Manager's employee id, username or email; defaults to the department head")] = None,
    date_of_joining: Annotated[str | None, Field(description="Joining date, YYYY-MM-DD; defaults to today")] = None,
    role: Annotated[Literal["employee", "manager", "hr", "finance"], Field(
        description="Access role in the company's systems")] = "employee",
    skills: Annotated[str | None, Field(description="Comma-separated skills, e.g. 'python,sql'")] = None,
    branch: Annotated[str | None, Field(description="Office location, e.g. 'Berlin'")] = None,
) -> dict:
    """Hire a new employee (HR or admin only). Creates the employee record and provisions the
    accounts other apps keep per person (chat, mail, calendar, ...), leave allocations and salary."""
    ctx.require_role("hr", action="hire employees")
    dept = domain.department(ctx, department)
    if reports_to:
        manager = domain.employee(ctx, reports_to)
    else:
        if dept["head_user_id"] is None:
            raise ToolError("invalid_arguments", f"department {dept['name']} has no head; give reports_to",
                            field="reports_to")
        manager = ctx.get("users", dept["head_user_id"])
    if manager["status"] != "active":
        raise ToolError("rule_violation", f"{manager['employee_id']} has left the company and cannot be a manager",
                        field="reports_to")
    if date_of_joining:
        domain.parse_date(date_of_joining, "date_of_joining")
    skill_list = sorted({s.strip().lower() for s in (skills or "").split(",") if s.strip()})
    uid = hire(ctx, first_name=first_name.strip(), last_name=last_name.strip(), department_id=dept["id"],
               designation=designation.strip(), role=role, manager_id=manager["id"], skills=",".join(skill_list),
               location=branch, date_joined=date_of_joining)
    user = ctx.get("users", uid)
    ctx.notify(manager["id"], "frappe", f"{user['full_name']} ({user['employee_id']}) joins your team",
               ref=user["employee_id"])
    return {"employee_id": user["employee_id"], "user_id": user["username"], "company_email": user["email"],
            "reports_to": manager["employee_id"], "department": dept["name"]}


def _reports_chain_contains(ctx, start_id: int, target_id: int) -> bool:
    """Is target among start's managers (walking up)?"""
    return bool(ctx.scalar(
        "WITH RECURSIVE up(id) AS (SELECT manager_id FROM users WHERE id = ? UNION "
        "SELECT u.manager_id FROM users u JOIN up ON u.id = up.id WHERE u.manager_id IS NOT NULL) "
        "SELECT 1 FROM up WHERE id = ?", start_id, target_id))


@app.tool(idempotent=True)
def update_employee(
    ctx,
    employee_id: EmployeeReq,
    designation: Annotated[str | None, Field(description="New designation (job title)")] = None,
    department: Annotated[str | None, Field(description="New department, name or code")] = None,
    reports_to: Annotated[str | None, Field(description="New manager: employee id, username or email")] = None,
    status: Annotated[Literal["Active", "Left"] | None, Field(description="Employment status")] = None,
    branch: Annotated[str | None, Field(description="Office location")] = None,
    skills: Annotated[str | None, Field(description="Comma-separated skills (replaces the list)")] = None,
) -> dict:
    """Change an employee's record (HR or admin only). Refuses reporting cycles and letting go of
    someone who still has direct reports."""
    ctx.require_role("hr", action="update employee records")
    emp = domain.employee(ctx, employee_id)
    changes: dict[str, Any] = {}
    if designation is not None:
        changes["designation"] = designation.strip()
    if department is not None:
        changes["department_id"] = domain.department(ctx, department)["id"]
    if reports_to is not None:
        mgr = domain.employee(ctx, reports_to)
        if mgr["id"] == emp["id"] or _reports_chain_contains(ctx, mgr["id"], emp["id"]):
            raise ToolError("rule_violation", f"{emp['employee_id']} cannot report to {mgr['employee_id']}: "
                            "that would make a reporting cycle", field="reports_to")
        if mgr["status"] != "active":
            raise ToolError("rule_violation", f"{mgr['employee_id']} has left the company", field="reports_to")
        changes["manager_id"] = mgr["id"]
    if status is not None:
        if status == "Left":
            n = ctx.scalar("SELECT COUNT(*) FROM users WHERE manager_id = ? AND status = 'active'", emp["id"])
            if n:
                raise ToolError("rule_violation", f"{emp['employee_id']} still has {n} direct reports; "
                                "assign them a new manager first", direct_reports=n)
        changes["status"] = status.lower() if status == "Active" else "left"
    if branch is not None:
        changes["location"] = branch
    if skills is not None:
        changes["skills"] = ",".join(sorted({s.strip().lower() for s in skills.split(",") if s.strip()}))
    if not changes:
        raise ToolError("invalid_arguments", "nothing to update: give at least one field to change")
    ctx.update("users", emp["id"], **changes)
    api_names = {"department_id": "department", "manager_id": "reports_to", "location": "branch"}
    return {**_employee_full(ctx, emp["id"]), "updated": sorted(api_names.get(c, c) for c in changes)}


@app.tool(read_only=True)
def get_org_chart(
    ctx,
    employee_id: Annotated[str | None, Field(
        description="Root of the chart (employee id, username or email); default: the top of the company")] = None,
    depth: Annotated[int, Field(description="How many reporting levels below the root to include", ge=1, le=6)] = 3,
) -> dict:
    """The reporting tree (who reports to whom) below an employee or the whole company."""
    if employee_id:
        roots = [domain.employee(ctx, employee_id)["id"]]
    else:
        roots = [r["id"] for r in ctx.all("SELECT id FROM users WHERE manager_id IS NULL AND status = 'active' "
                                          "ORDER BY id")]
    rows = ctx.all(
        "WITH RECURSIVE tree(id, lvl) AS (SELECT id, 0 FROM users WHERE id IN (%s) UNION ALL "
        "SELECT u.id, t.lvl + 1 FROM users u JOIN tree t ON u.manager_id = t.id "
        "WHERE t.lvl < ? AND u.status = 'active') "
        "SELECT u.id, u.employee_id, u.full_name, u.designation, u.manager_id, t.lvl FROM tree t "
        "JOIN users u ON u.id = t.id ORDER BY t.lvl, u.id" % ",".join("?" * len(roots)), *roots, depth)
    nodes: dict[int, dict[str, Any]] = {}
    top: list[dict[str, Any]] = []
    for r in rows:
        node = {"employee_id": r["employee_id"], "employee_name": r["full_name"], "designation": r["designation"],
                "reports": []}
        nodes[r["id"]] = node
        parent = nodes.get(r["manager_id"]) if r["lvl"] else None
        (parent["reports"] if parent is not None else top).append(node)
    return {"org_chart": top, "people": len(rows)}


@app.tool(read_only=True)
def list_departments(ctx) -> dict:
    """All departments with their code, head and number of active employees."""
    rows = ctx.all(
        "SELECT d.name, d.code, h.employee_id AS head_employee_id, h.full_name AS head_name, "
        "(SELECT COUNT(*) FROM users u WHERE u.department_id = d.id AND u.status = 'active') AS headcount "
        "FROM departments d LEFT JOIN users h ON h.id = d.head_user_id ORDER BY d.name")
    return {"departments": rows}


# ================================ leave ========================================================


def _balances(ctx, emp: dict[str, Any], leave_type: str | None) -> dict:
    year = int(ctx.today[:4])
    types = [domain.leave_type(ctx, leave_type)] if leave_type else ctx.all(
        "SELECT * FROM hr_leave_types WHERE is_lwp = 0 ORDER BY id")
    if leave_type and types[0]["is_lwp"]:
        raise ToolError("invalid_arguments", f"{types[0]['name']} keeps no balance", field="leave_type")
    return {"employee_id": emp["employee_id"], "employee_name": emp["full_name"], "year": year,
            "leave_balances": [domain.balance(ctx, emp["id"], t, year) for t in types]}


@app.tool(read_only=True)
def get_my_leave_balance(
    ctx, leave_type: Annotated[str | None, Field(description="Leave type, e.g. 'Casual Leave'; default: all")] = None,
) -> dict:
    """Your leave balance this year per leave type: allocated, taken, pending approval, balance."""
    return _balances(ctx, ctx.actor, leave_type)


@app.tool(read_only=True)
def get_leave_balance(
    ctx, employee_id: EmployeeReq,
    leave_type: Annotated[str | None, Field(description="Leave type, e.g. 'Sick Leave'; default: all")] = None,
) -> dict:
    """An employee's leave balance this year per leave type (the employee, their manager, HR or admin)."""
    emp = domain.employee(ctx, employee_id)
    domain.require_self_or_manager(ctx, emp, "see the leave balance")
    return _balances(ctx, emp, leave_type)


def _leave_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"leave_application_id": row["name"], "employee_id": row["emp_eid"], "employee_name": row["emp_name"],
            "leave_type": row["type_name"], "from_date": row["from_date"], "to_date": row["to_date"],
            "half_day": bool(row["half_day"]), "total_leave_days": row["total_leave_days"], "reason": row["reason"],
            "status": row["status"], "leave_approver": row["approver_eid"], "posting_date": row["posting_date"]}


_LEAVE_SELECT = (
    "SELECT a.*, e.employee_id AS emp_eid, e.full_name AS emp_name, t.name AS type_name, "
    "ap.employee_id AS approver_eid FROM hr_leave_applications a JOIN users e ON e.id = a.employee_id "
    "JOIN hr_leave_types t ON t.id = a.leave_type_id LEFT JOIN users ap ON ap.id = a.leave_approver_id ")


@app.tool(returns={"leave_application_id": "string", "status": "string", "total_leave_days": "number"})
def apply_leave(
    ctx,
    leave_type: Annotated[str, Field(description="Leave type: Casual Leave, Sick Leave, Privilege Leave or "
                                                 "Leave Without Pay")],
    from_date: Annotated[str, Field(description="First day of leave, YYYY-MM-DD")],
    to_date: Annotated[str, Field(description="Last day of leave, YYYY-MM-DD (inclusive)")],
    employee_id: EmployeeOpt = None,
    half_day: Annotated[bool, Field(description="Half a day only (from_date must equal to_date)")] = False,
    reason: Annotated[str | None, Field(description="Reason shown to the approver")] = None,
) -> dict:
    """Apply for leave. Weekends are not counted. Refused when the days exceed the balance left
    after approved and pending leave, or when it overlaps another open/approved application.
    The application goes to the employee's manager for approval."""
    emp = domain.employee(ctx, employee_id)
    domain.require_self_or_manager(ctx, emp, "apply for leave")
    if emp["status"] != "active":
        raise ToolError("rule_violation", f"{emp['employee_id']} has left the company")
    start, end = domain.parse_date(from_date, "from_date"), domain.parse_date(to_date, "to_date")
    if end < start:
        raise ToolError("invalid_arguments", f"to_date {to_date} is before from_date {from_date}", field="to_date")
    if half_day and start != end:
        raise ToolError("invalid_arguments", "a half-day leave must start and end on the same date", field="half_day")
    if start.year != end.year:
        raise ToolError("rule_violation", "a leave application must lie within one leave period (calendar year); "
                        "apply twice")
    lt = domain.leave_type(ctx, leave_type)
    days = domain.working_days(start, end)
    if not days:
        raise ToolError("rule_violation", f"{from_date} to {to_date} has no working days (weekends only)")
    total = 0.5 if half_day else float(len(days))
    clash = ctx.one("SELECT name, status FROM hr_leave_applications WHERE employee_id = ? AND status IN "
                    "('Open', 'Approved') AND from_date <= ? AND to_date >= ?", emp["id"], to_date, from_date)
    if clash:
        raise ToolError("conflict", f"overlaps leave application {clash['name']} ({clash['status']})",
                        leave_application_id=clash["name"])
    if not lt["is_lwp"]:
        bal = domain.balance(ctx, emp["id"], lt, start.year)
        available = bal["balance"] - bal["pending"]
        if total > available:
            raise ToolError("rule_violation",
                            f"insufficient {lt['name']} balance: {total:g} day(s) requested, {available:g} available "
                            f"({bal['allocated']:g} allocated, {bal['taken']:g} taken, {bal['pending']:g} pending)",
                            requested=total, available=available)
    name = domain.next_name(ctx, "hr_leave_applications", f"HR-LAP-{start.year}-")
    ctx.insert("hr_leave_applications", name=name, employee_id=emp["id"], leave_type_id=lt["id"], from_date=from_date,
               to_date=to_date, half_day=int(half_day), total_leave_days=total, reason=reason or "", status="Open",
               leave_approver_id=emp["manager_id"], posting_date=ctx.today)
    if emp["manager_id"]:
        ctx.notify(emp["manager_id"], "frappe", f"{emp['full_name']} applied for {lt['name']} {from_date} to "
                   f"{to_date}; please approve or reject", ref=name, kind="action")
    return {"leave_application_id": name, "status": "Open", "total_leave_days": total, "leave_type": lt["name"],
            "leave_approver": ctx.scalar("SELECT employee_id FROM users WHERE id = ?", emp["manager_id"])}


@app.tool(read_only=True)
def get_leave_applications(
    ctx,
    employee_id: Annotated[str | None, Field(description="Only this employee's applications (id, username or "
                                                         "email); default: yours and your reports' (HR: all)")] = None,
    status: Annotated[LeaveStatus | None, Field(description="Only applications in this status")] = None,
    from_date: Annotated[str | None, Field(description="Only leave ending on or after this date, YYYY-MM-DD")] = None,
    to_date: Annotated[str | None, Field(description="Only leave starting on or before this date, YYYY-MM-DD")] = None,
    limit: Limit = 20,
) -> dict:
    """List leave applications, newest first."""
    _date_range(from_date, to_date)
    where, args = _scope(ctx, employee_id, "see leave applications")
    sql, params = [where], list(args)
    if status:
        sql.append("a.status = ?")
        params.append(status)
    if from_date:
        sql.append("a.to_date >= ?")
        params.append(from_date)
    if to_date:
        sql.append("a.from_date <= ?")
        params.append(to_date)
    rows = ctx.all(_LEAVE_SELECT + "WHERE " + " AND ".join(sql) + " ORDER BY a.from_date DESC, a.id DESC LIMIT ?",
                   *params, limit)
    return {"leave_applications": [_leave_view(r) for r in rows]}


def _leave_for_decision(ctx, leave_application_id: str, action: str) -> tuple[dict, dict]:
    app_row = ctx.one("SELECT * FROM hr_leave_applications WHERE name = ? OR CAST(id AS TEXT) = ?",
                      leave_application_id, leave_application_id)
    if app_row is None:
        raise not_found("leave application", leave_application_id)
    emp = ctx.get("users", app_row["employee_id"])
    if emp["id"] == ctx.actor["id"]:
        raise ToolError("permission_denied", f"nobody may {action} their own leave ({app_row['name']}); "
                        "it needs your manager or HR", leave_application_id=app_row["name"])
    if not (domain.is_hr(ctx) or domain.manages(ctx, emp)):
        raise ToolError("permission_denied", f"{ctx.actor['username']} may not {action} leave of "
                        f"{emp['employee_id']}: only their manager, HR or an admin may",
                        leave_application_id=app_row["name"])
    return app_row, emp


@app.tool(idempotent=False)
def approve_leave(
    ctx, leave_application_id: Annotated[str, Field(description="Leave application id, e.g. HR-LAP-2026-00012")],
) -> dict:
    """Approve an open leave application (the applicant's manager, HR or admin; never your own).
    Re-checks the balance, marks attendance 'On Leave' for the working days and blocks the
    employee's calendar (event `leave.approved`)."""
    row, emp = _leave_for_decision(ctx, leave_application_id, "approve")
    _transition("leave application", LEAVE_TRANSITIONS, row["name"], row["status"], "Approved")
    lt = ctx.get("hr_leave_types", row["leave_type_id"], "leave type")
    year = int(row["from_date"][:4])
    if not lt["is_lwp"]:
        bal = domain.balance(ctx, emp["id"], lt, year)
        if row["total_leave_days"] > bal["balance"]:
            raise ToolError("rule_violation", f"insufficient {lt['name']} balance to approve: "
                            f"{row['total_leave_days']:g} day(s) requested, {bal['balance']:g} left",
                            requested=row["total_leave_days"], available=bal["balance"])
    ctx.update("hr_leave_applications", row["id"], status="Approved", decided_by=ctx.actor["id"])
    row = {**row, "status": "Approved"}
    marked = domain.approve_effects(ctx, row, emp)
    left = None if lt["is_lwp"] else domain.balance(ctx, emp["id"], lt, year)["balance"]
    return {"leave_application_id": row["name"], "status": "Approved", "employee_id": emp["employee_id"],
            "leave_type": lt["name"], "attendance_marked": marked, "remaining_balance": left}


@app.tool(idempotent=False)
def reject_leave(
    ctx, leave_application_id: Annotated[str, Field(description="Leave application id, e.g. HR-LAP-2026-00012")],
    reason: Annotated[str | None, Field(description="Why it is rejected (sent to the employee)")] = None,
) -> dict:
    """Reject an open leave application (the applicant's manager, HR or admin; never your own)."""
    row, emp = _leave_for_decision(ctx, leave_application_id, "reject")
    _transition("leave application", LEAVE_TRANSITIONS, row["name"], row["status"], "Rejected")
    ctx.update("hr_leave_applications", row["id"], status="Rejected", decided_by=ctx.actor["id"])
    ctx.notify(emp["id"], "frappe", f"Your leave {row['name']} was rejected" + (f": {reason}" if reason else ""),
               ref=row["name"])
    domain.mail_employee(ctx, emp, f"Leave rejected: {row['from_date']} to {row['to_date']}",
                         f"Hello {emp['first_name']},\n\nyour leave application {row['name']} was rejected by "
                         f"{ctx.actor['full_name']}." + (f"\nReason: {reason}" if reason else "") + "\n\nFrappe HR")
    return {"leave_application_id": row["name"], "status": "Rejected", "employee_id": emp["employee_id"]}


@app.tool(idempotent=False)
def cancel_leave(
    ctx, leave_application_id: Annotated[str, Field(description="Leave application id, e.g. HR-LAP-2026-00012")],
) -> dict:
    """Withdraw an open leave application (the applicant, HR or admin). Approved leave is final."""
    row = ctx.one("SELECT * FROM hr_leave_applications WHERE name = ? OR CAST(id AS TEXT) = ?",
                  leave_application_id, leave_application_id)
    if row is None:
        raise not_found("leave application", leave_application_id)
    if row["employee_id"] != ctx.actor["id"] and not domain.is_hr(ctx):
        raise ToolError("permission_denied", "only the applicant, HR or an admin may cancel a leave application")
    _transition("leave application", LEAVE_TRANSITIONS, row["name"], row["status"], "Cancelled")
    ctx.update("hr_leave_applications", row["id"], status="Cancelled")
    return {"leave_application_id": row["name"], "status": "Cancelled"}


# ================================ attendance & check-ins =======================================


@app.tool(returns={"attendance_id": "string", "status": "string"})
def mark_attendance(
    ctx,
    status: Annotated[AttendanceStatus, Field(description="Attendance status")],
    employee_id: EmployeeOpt = None,
    attendance_date: Annotated[str | None, Field(description="Date, YYYY-MM-DD; defaults to today")] = None,
) -> dict:
    """Mark an employee's attendance for one day (once per day; not for future dates)."""
    emp = domain.employee(ctx, employee_id)
    domain.require_self_or_manager(ctx, emp, "mark attendance")
    day = domain.parse_date(attendance_date, "attendance_date") if attendance_date else dt.date.fromisoformat(ctx.today)
    if day.isoformat() > ctx.today:
        raise ToolError("rule_violation", f"attendance cannot be marked for a future date ({day})")
    if emp["status"] != "active":
        raise ToolError("rule_violation", f"{emp['employee_id']} has left the company")
    existing = ctx.one("SELECT name, status FROM hr_attendance WHERE employee_id = ? AND attendance_date = ?",
                       emp["id"], day.isoformat())
    if existing:
        raise ToolError("conflict", f"attendance of {emp['employee_id']} for {day} is already marked "
                        f"({existing['status']}, {existing['name']})", attendance_id=existing["name"])
    name = domain.next_name(ctx, "hr_attendance", f"HR-ATT-{day.year}-")
    ctx.insert("hr_attendance", name=name, employee_id=emp["id"], attendance_date=day.isoformat(), status=status)
    return {"attendance_id": name, "employee_id": emp["employee_id"], "attendance_date": day.isoformat(),
            "status": status}


@app.tool(read_only=True)
def get_attendance(
    ctx,
    employee_id: Annotated[str | None, Field(description="Only this employee (id, username or email); default: "
                                                         "you and your reports (HR: everyone)")] = None,
    from_date: DateOpt = None,
    to_date: DateOpt = None,
    status: Annotated[AttendanceStatus | None, Field(description="Only this attendance status")] = None,
    limit: Limit = 20,
) -> dict:
    """Attendance records, newest first."""
    _date_range(from_date, to_date)
    where, args = _scope(ctx, employee_id, "see attendance")
    sql, params = [where], list(args)
    for cond, val in (("a.attendance_date >= ?", from_date), ("a.attendance_date <= ?", to_date),
                      ("a.status = ?", status)):
        if val:
            sql.append(cond)
            params.append(val)
    rows = ctx.all("SELECT a.name, e.employee_id, e.full_name, a.attendance_date, a.status, l.name AS leave_app "
                   "FROM hr_attendance a JOIN users e ON e.id = a.employee_id "
                   "LEFT JOIN hr_leave_applications l ON l.id = a.leave_application_id WHERE " + " AND ".join(sql)
                   + " ORDER BY a.attendance_date DESC, a.id DESC LIMIT ?", *params, limit)
    return {"attendance": [{"attendance_id": r["name"], "employee_id": r["employee_id"], "employee_name": r["full_name"],
                            "attendance_date": r["attendance_date"], "status": r["status"],
                            "leave_application_id": r["leave_app"]} for r in rows]}


@app.tool(returns={"checkin_id": "string", "log_type": "string", "time": "string"})
def checkin(
    ctx,
    log_type: Annotated[Literal["IN", "OUT"], Field(description="IN when arriving, OUT when leaving")],
    employee_id: EmployeeOpt = None,
    time: Annotated[str | None, Field(description="Time, YYYY-MM-DDTHH:MM:SS; defaults to now")] = None,
) -> dict:
    """Record an employee check-in or check-out (not in the future)."""
    emp = domain.employee(ctx, employee_id)
    domain.require_self_or_manager(ctx, emp, "record check-ins")
    when = domain.parse_datetime(time, "time").isoformat(timespec="seconds") if time else ctx.now
    if when > ctx.now:
        raise ToolError("rule_violation", f"a check-in cannot be in the future ({when} > {ctx.now})")
    name = domain.next_name(ctx, "hr_checkins", f"EMP-CKIN-{when[:4]}-")
    ctx.insert("hr_checkins", name=name, employee_id=emp["id"], log_type=log_type, time=when)
    return {"checkin_id": name, "employee_id": emp["employee_id"], "log_type": log_type, "time": when}


# ================================ timesheets ===================================================

_LOG_KEYS = {"activity_type", "from_time", "to_time", "hours", "project", "description"}


def _parse_logs(time_logs: list[dict]) -> list[dict[str, Any]]:
    if not time_logs:
        raise ToolError("invalid_arguments", "time_logs: give at least one time log", field="time_logs")
    out = []
    for i, log in enumerate(time_logs):
        where = f"time_logs[{i}]"
        extra = set(log) - _LOG_KEYS
        if extra:
            raise ToolError("invalid_arguments", f"{where}: unknown key(s) {', '.join(sorted(extra))}; allowed: "
                            + ", ".join(sorted(_LOG_KEYS)), field=where)
        for key in ("activity_type", "from_time"):
            if not log.get(key):
                raise ToolError("invalid_arguments", f"{where}.{key} is required", field=f"{where}.{key}")
        start = domain.parse_datetime(str(log["from_time"]), f"{where}.from_time")
        if log.get("to_time"):
            end = domain.parse_datetime(str(log["to_time"]), f"{where}.to_time")
            hours = (end - start).total_seconds() / 3600
        elif log.get("hours") is not None:
            try:
                hours = float(log["hours"])
            except (TypeError, ValueError):
                raise ToolError("invalid_arguments", f"{where}.hours must be a number", field=f"{where}.hours") from None
            end = start + dt.timedelta(hours=hours)
        else:
            raise ToolError("invalid_arguments", f"{where}: give to_time or hours", field=where)
        if hours <= 0 or hours > 24:
            raise ToolError("invalid_arguments", f"{where}: hours must be in (0, 24], got {hours:g}", field=where)
        out.append({"activity_type": str(log["activity_type"]), "from_time": start.isoformat(timespec="seconds"),
                    "to_time": end.isoformat(timespec="seconds"), "hours": round(hours, 2),
                    "project": log.get("project"), "description": str(log.get("description") or "")})
    spans = sorted((o["from_time"], o["to_time"]) for o in out)
    for (s1, e1), (s2, _) in zip(spans, spans[1:]):
        if s2 < e1:
            raise ToolError("rule_violation", f"time logs overlap: one ends {e1}, the next starts {s2}")
    return out


@app.tool(returns={"timesheet_id": "string", "total_hours": "number", "status": "string"})
def create_timesheet(
    ctx,
    time_logs: Annotated[list[dict], Field(description=(
        "Time logs: objects with activity_type (e.g. Development), from_time (YYYY-MM-DDTHH:MM:SS), and "
        "to_time or hours; optional project and description"))],
    employee_id: EmployeeOpt = None,
) -> dict:
    """Create a draft timesheet from time logs (they may not overlap)."""
    emp = domain.employee(ctx, employee_id)
    domain.require_self_or_manager(ctx, emp, "create timesheets")
    logs = _parse_logs(time_logs)
    total = round(sum(o["hours"] for o in logs), 2)
    start = min(o["from_time"] for o in logs)[:10]
    name = domain.next_name(ctx, "hr_timesheets", f"TS-{start[:4]}-")
    sid = ctx.insert("hr_timesheets", name=name, employee_id=emp["id"], start_date=start,
                     end_date=max(o["to_time"] for o in logs)[:10], total_hours=total, status="Draft")
    for o in logs:
        ctx.insert("hr_timesheet_logs", timesheet_id=sid, **o)
    return {"timesheet_id": name, "employee_id": emp["employee_id"], "total_hours": total, "status": "Draft"}


@app.tool(idempotent=False)
def submit_timesheet(ctx, timesheet_id: Annotated[str, Field(description="Timesheet id, e.g. TS-2026-00003")]) -> dict:
    """Submit a draft timesheet (the employee, their manager, HR or admin)."""
    row = ctx.get("hr_timesheets", timesheet_id, "timesheet", key="name")
    domain.require_self_or_manager(ctx, ctx.get("users", row["employee_id"]), "submit timesheets")
    _transition("timesheet", TIMESHEET_TRANSITIONS, row["name"], row["status"], "Submitted")
    ctx.update("hr_timesheets", row["id"], status="Submitted")
    return {"timesheet_id": row["name"], "status": "Submitted"}


@app.tool(read_only=True)
def get_timesheets(
    ctx,
    employee_id: Annotated[str | None, Field(description="Only this employee (id, username or email); default: "
                                                         "you and your reports (HR: everyone)")] = None,
    from_date: DateOpt = None,
    to_date: DateOpt = None,
    status: Annotated[Literal["Draft", "Submitted", "Cancelled"] | None, Field(description="Timesheet status")] = None,
    limit: Limit = 20,
) -> dict:
    """Timesheets with their time logs, newest first."""
    _date_range(from_date, to_date)
    where, args = _scope(ctx, employee_id, "see timesheets")
    sql, params = [where], list(args)
    for cond, val in (("t.end_date >= ?", from_date), ("t.start_date <= ?", to_date), ("t.status = ?", status)):
        if val:
            sql.append(cond)
            params.append(val)
    rows = ctx.all("SELECT t.*, e.employee_id AS eid, e.full_name FROM hr_timesheets t JOIN users e "
                   "ON e.id = t.employee_id WHERE " + " AND ".join(sql) + " ORDER BY t.start_date DESC, t.id DESC "
                   "LIMIT ?", *params, limit)
    out = []
    for r in rows:
        logs = ctx.all("SELECT activity_type, from_time, to_time, hours, project, description FROM hr_timesheet_logs "
                       "WHERE timesheet_id = ? ORDER BY from_time", r["id"])
        out.append({"timesheet_id": r["name"], "employee_id": r["eid"], "employee_name": r["full_name"],
                    "start_date": r["start_date"], "end_date": r["end_date"], "total_hours": r["total_hours"],
                    "status": r["status"], "time_logs": logs})
    return {"timesheets": out}


# ================================ payroll ======================================================


@app.tool(read_only=True)
def get_salary_slip(
    ctx,
    employee_id: EmployeeOpt = None,
    month: Annotated[str | None, Field(description="Month, YYYY-MM; default: the latest slip")] = None,
) -> dict:
    """An employee's salary slip (the employee, HR, finance or admin): gross, deductions, net pay."""
    emp = domain.employee(ctx, employee_id)
    if emp["id"] != ctx.actor["id"] and ctx.actor["role"] not in ("hr", "finance", "admin"):
        raise ToolError("permission_denied", "salary slips are visible to the employee, HR, finance and admins only")
    if month:
        start, _ = domain.month_bounds(month)
        row = ctx.one("SELECT * FROM hr_salary_slips WHERE employee_id = ? AND start_date = ?", emp["id"], start)
    else:
        row = ctx.one("SELECT * FROM hr_salary_slips WHERE employee_id = ? ORDER BY start_date DESC LIMIT 1", emp["id"])
    if row is None:
        raise not_found("salary slip", f"{emp['employee_id']} {month or '(any month)'}")
    return {"salary_slip_id": row["name"], "employee_id": emp["employee_id"], "employee_name": emp["full_name"],
            "start_date": row["start_date"], "end_date": row["end_date"], "posting_date": row["posting_date"],
            "gross_pay": row["gross_pay"], "total_deduction": row["total_deduction"], "net_pay": row["net_pay"],
            "currency": "EUR", "status": row["status"]}


@app.tool(read_only=True)
def get_payroll_entry(
    ctx,
    payroll_frequency: Annotated[Literal["Monthly", "Fortnightly", "Weekly", "Daily"] | None, Field(
        description="Payroll frequency")] = None,
    status: Annotated[Literal["Draft", "Submitted", "Cancelled"] | None, Field(description="Payroll run status")] = None,
    limit: Limit = 20,
) -> dict:
    """Payroll runs (HR, finance or admin): period, status, employees, total net pay."""
    ctx.require_role("hr", "finance", action="see payroll entries")
    sql, params = ["1 = 1"], []
    for cond, val in (("payroll_frequency = ?", payroll_frequency), ("status = ?", status)):
        if val:
            sql.append(cond)
            params.append(val)
    rows = ctx.all("SELECT name AS payroll_entry_id, posting_date, payroll_frequency, start_date, end_date, status, "
                   "number_of_employees, total_net_pay FROM hr_payroll_entries WHERE " + " AND ".join(sql)
                   + " ORDER BY start_date DESC LIMIT ?", *params, limit)
    return {"payroll_entries": rows}


# ================================ expense claims ===============================================


def _claim(ctx, expense_claim_id: str) -> dict[str, Any]:
    row = ctx.one("SELECT * FROM hr_expense_claims WHERE name = ? OR CAST(id AS TEXT) = ?",
                  expense_claim_id, expense_claim_id)
    if row is None:
        raise not_found("expense claim", expense_claim_id)
    return row


def _claim_view(ctx, row: dict[str, Any]) -> dict[str, Any]:
    eid = ctx.scalar("SELECT employee_id FROM users WHERE id = ?", row["employee_id"])
    return {"expense_claim_id": row["name"], "employee_id": eid, "expense_type": row["expense_type"],
            "expense_date": row["expense_date"], "amount": row["amount"], "description": row["description"],
            "status": row["status"], "remarks": row["remarks"]}


@app.tool(returns={"expense_claim_id": "string", "status": "string", "amount": "number"})
def create_expense_claim(
    ctx,
    expense_type: Annotated[str, Field(description="Expense type: " + ", ".join(words.EXPENSE_TYPES))],
    amount: Annotated[float, Field(description="Amount claimed in EUR; must be greater than zero")],
    employee_id: EmployeeOpt = None,
    expense_date: Annotated[str | None, Field(description="Date of the expense, YYYY-MM-DD; defaults to today")] = None,
    description: Annotated[str | None, Field(description="What was bought and why")] = None,
) -> dict:
    """Create a draft expense claim. Submit it with submit_expense_claim; then the employee's
    manager, HR or finance approves or rejects it."""
    emp = domain.employee(ctx, employee_id)
    domain.require_self_or_manager(ctx, emp, "create expense claims")
    kind = next((t for t in words.EXPENSE_TYPES if t.lower() == expense_type.strip().lower()), None)
    if kind is None:
        raise ToolError("invalid_arguments", f"expense_type {expense_type!r} is unknown; choose one of "
                        + ", ".join(words.EXPENSE_TYPES), field="expense_type")
    if not amount > 0:
        raise ToolError("invalid_arguments", f"amount must be greater than zero, got {amount:g}", field="amount")
    day = domain.parse_date(expense_date, "expense_date").isoformat() if expense_date else ctx.today
    if day > ctx.today:
        raise ToolError("rule_violation", f"expense_date {day} is in the future")
    name = domain.next_name(ctx, "hr_expense_claims", f"HR-EXP-{ctx.today[:4]}-")
    ctx.insert("hr_expense_claims", name=name, employee_id=emp["id"], expense_type=kind, expense_date=day,
               amount=round(amount, 2), description=description or "", status="Draft", posting_date=ctx.today)
    return {"expense_claim_id": name, "employee_id": emp["employee_id"], "status": "Draft", "amount": round(amount, 2)}


@app.tool(idempotent=False)
def submit_expense_claim(
    ctx, expense_claim_id: Annotated[str, Field(description="Expense claim id, e.g. HR-EXP-2026-00004")],
) -> dict:
    """Submit a draft expense claim for approval (the claimant, their manager, HR or admin)."""
    row = _claim(ctx, expense_claim_id)
    emp = ctx.get("users", row["employee_id"])
    domain.require_self_or_manager(ctx, emp, "submit expense claims")
    _transition("expense claim", EXPENSE_TRANSITIONS, row["name"], row["status"], "Submitted")
    ctx.update("hr_expense_claims", row["id"], status="Submitted")
    if emp["manager_id"]:
        ctx.notify(emp["manager_id"], "frappe", f"{emp['full_name']} submitted expense claim {row['name']} "
                   f"({row['amount']:.2f} EUR)", ref=row["name"], kind="action")
    return {"expense_claim_id": row["name"], "status": "Submitted"}


def _decide_claim(ctx, expense_claim_id: str, target: str, remarks: str | None) -> dict:
    row = _claim(ctx, expense_claim_id)
    emp = ctx.get("users", row["employee_id"])
    if emp["id"] == ctx.actor["id"]:
        raise ToolError("permission_denied", f"nobody may decide their own expense claim ({row['name']})")
    if not (domain.is_hr(ctx) or domain.manages(ctx, emp) or ctx.actor["role"] == "finance"):
        raise ToolError("permission_denied", f"{ctx.actor['username']} may not decide expense claims of "
                        f"{emp['employee_id']}: only their manager, HR, finance or an admin may")
    _transition("expense claim", EXPENSE_TRANSITIONS, row["name"], row["status"], target)
    ctx.update("hr_expense_claims", row["id"], status=target, approver_id=ctx.actor["id"], decided_at=ctx.today,
               remarks=remarks or "")
    ctx.notify(emp["id"], "frappe", f"Your expense claim {row['name']} was {target.lower()}", ref=row["name"])
    return {"expense_claim_id": row["name"], "status": target, "employee_id": emp["employee_id"],
            "amount": row["amount"]}


@app.tool(idempotent=False)
def approve_expense_claim(
    ctx, expense_claim_id: Annotated[str, Field(description="Expense claim id, e.g. HR-EXP-2026-00004")],
    remarks: Annotated[str | None, Field(description="Note for the claimant")] = None,
) -> dict:
    """Approve a submitted expense claim (the claimant's manager, HR, finance or admin; not your own)."""
    return _decide_claim(ctx, expense_claim_id, "Approved", remarks)


@app.tool(idempotent=False)
def reject_expense_claim(
    ctx, expense_claim_id: Annotated[str, Field(description="Expense claim id, e.g. HR-EXP-2026-00004")],
    remarks: Annotated[str | None, Field(description="Why it is rejected")] = None,
) -> dict:
    """Reject a submitted expense claim (the claimant's manager, HR, finance or admin; not your own)."""
    return _decide_claim(ctx, expense_claim_id, "Rejected", remarks)


@app.tool(read_only=True)
def get_expense_claims(
    ctx,
    employee_id: Annotated[str | None, Field(description="Only this employee (id, username or email); default: "
                                                         "you and your reports (HR, finance: everyone)")] = None,
    status: Annotated[Literal["Draft", "Submitted", "Approved", "Rejected"] | None, Field(
        description="Only claims in this status")] = None,
    limit: Limit = 20,
) -> dict:
    """Expense claims, newest first."""
    where, args = _scope(ctx, employee_id, "see expense claims", also=("finance",))
    sql, params = [where], list(args)
    if status:
        sql.append("c.status = ?")
        params.append(status)
    rows = ctx.all("SELECT c.*, e.employee_id AS eid, e.full_name FROM hr_expense_claims c JOIN users e "
                   "ON e.id = c.employee_id WHERE " + " AND ".join(sql) + " ORDER BY c.posting_date DESC, c.id DESC "
                   "LIMIT ?", *params, limit)
    return {"expense_claims": [{"expense_claim_id": r["name"], "employee_id": r["eid"], "employee_name": r["full_name"],
                                "expense_type": r["expense_type"], "expense_date": r["expense_date"],
                                "amount": r["amount"], "description": r["description"], "status": r["status"]}
                               for r in rows]}


# ================================ recruitment ==================================================


def _opening(ctx, ident: str) -> dict[str, Any]:
    row = ctx.one("SELECT * FROM hr_job_openings WHERE job_opening_id = ? OR job_title = ? COLLATE NOCASE "
                  "ORDER BY status = 'Open' DESC, id LIMIT 1", ident, ident)
    if row is None:
        raise not_found("job opening", ident)
    return row


def _opening_view(ctx, r: dict[str, Any]) -> dict[str, Any]:
    return {"job_opening_id": r["job_opening_id"], "job_title": r["job_title"], "designation": r["designation"],
            "department": r.get("department_name"), "status": r["status"], "no_of_positions": r["no_of_positions"],
            "required_skills": [s for s in r["required_skills"].split(",") if s],
            "hiring_manager": r.get("manager_eid"), "posted_on": r["posted_on"]}


_OPENING_SELECT = ("SELECT o.*, d.name AS department_name, m.employee_id AS manager_eid FROM hr_job_openings o "
                   "LEFT JOIN departments d ON d.id = o.department_id LEFT JOIN users m ON m.id = o.hiring_manager_id ")


@app.tool(read_only=True)
def get_job_openings(
    ctx,
    status: Annotated[Literal["Open", "Closed"] | None, Field(description="Only openings in this status")] = None,
    designation: Annotated[str | None, Field(description="Designation, or part of it")] = None,
    department: Annotated[str | None, Field(description="Department name or code")] = None,
    limit: Limit = 20,
) -> dict:
    """Job openings with their required skills and hiring manager."""
    sql, params = ["1 = 1"], []
    if status:
        sql.append("o.status = ?")
        params.append(status)
    if designation:
        sql.append("o.designation LIKE ?")
        params.append(f"%{designation}%")
    if department:
        sql.append("o.department_id = ?")
        params.append(domain.department(ctx, department)["id"])
    rows = ctx.all(_OPENING_SELECT + "WHERE " + " AND ".join(sql) + " ORDER BY o.status = 'Open' DESC, o.id LIMIT ?",
                   *params, limit)
    return {"job_openings": [_opening_view(ctx, r) for r in rows]}


@app.tool(returns={"job_opening_id": "string", "status": "string"})
def create_job_opening(
    ctx,
    job_title: Annotated[str, Field(description="Title shown to applicants, e.g. 'Senior Backend Engineer'",
                                    min_length=2)],
    designation: Annotated[str, Field(description="Designation the hire will hold", min_length=2)],
    department: Annotated[str | None, Field(description="Department name or code")] = None,
    description: Annotated[str | None, Field(description="Job description")] = None,
    no_of_positions: Annotated[int, Field(description="Number of positions to fill", ge=1, le=100)] = 1,
    status: Annotated[Literal["Open", "Closed"], Field(description="Open to accept applicants")] = "Open",
    required_skills: Annotated[str | None, Field(description="Comma-separated required skills, e.g. "
                                                             "'python,postgres'")] = None,
    hiring_manager: Annotated[str | None, Field(description="Hiring manager's employee id, username or email; "
                                                            "defaults to the department head")] = None,
) -> dict:
    """Create a job opening (HR or admin). Only one open opening per title and department."""
    ctx.require_role("hr", action="create job openings")
    dept = domain.department(ctx, department) if department else None
    if status == "Open" and ctx.one("SELECT 1 FROM hr_job_openings WHERE job_title = ? COLLATE NOCASE AND status = 'Open' "
                                    "AND department_id IS ?", job_title.strip(), dept["id"] if dept else None):
        raise ToolError("conflict", f"an open job opening {job_title!r} already exists in this department")
    manager = domain.employee(ctx, hiring_manager) if hiring_manager else (
        ctx.get("users", dept["head_user_id"]) if dept and dept["head_user_id"] else None)
    skills = ",".join(dict.fromkeys(s.strip().lower() for s in (required_skills or "").split(",") if s.strip()))
    oid = domain.next_name(ctx, "hr_job_openings", f"HR-OPN-{ctx.today[:4]}-", width=4)
    ctx.insert("hr_job_openings", job_opening_id=oid, job_title=job_title.strip(), designation=designation.strip(),
               department_id=dept["id"] if dept else None, description=description or "", required_skills=skills,
               status=status, no_of_positions=no_of_positions, hiring_manager_id=manager["id"] if manager else None,
               posted_on=ctx.today)
    return {"job_opening_id": oid, "job_title": job_title.strip(), "status": status}


@app.tool(read_only=True)
def get_job_opening_details(
    ctx, job_opening_id: Annotated[str, Field(description="Job opening id (HR-OPN-2026-0001) or exact job title")],
) -> dict:
    """One job opening: description, required skills, hiring manager and applicants per status."""
    o = _opening(ctx, job_opening_id)
    row = ctx.one(_OPENING_SELECT + "WHERE o.id = ?", o["id"])
    counts = {r["status"]: r["n"] for r in ctx.all(
        "SELECT status, COUNT(*) AS n FROM hr_job_applicants WHERE job_opening_id = ? GROUP BY status", o["id"])}
    return {**_opening_view(ctx, row), "description": row["description"], "applicants_by_status": counts,
            "applicants": sum(counts.values())}


@app.tool(read_only=True)
def get_job_applicants(
    ctx,
    job_opening: Annotated[str | None, Field(description="Job opening id (HR-OPN-2026-0001) or exact job title")] = None,
    status: Annotated[Literal["Open", "Replied", "Hold", "Accepted", "Rejected"] | None, Field(
        description="Only applicants in this status")] = None,
    limit: Limit = 20,
) -> dict:
    """Job applicants with their skills and resume text."""
    sql, params = ["1 = 1"], []
    if job_opening:
        sql.append("a.job_opening_id = ?")
        params.append(_opening(ctx, job_opening)["id"])
    if status:
        sql.append("a.status = ?")
        params.append(status)
    rows = ctx.all("SELECT a.*, o.job_opening_id AS opening, o.job_title FROM hr_job_applicants a JOIN hr_job_openings o "
                   "ON o.id = a.job_opening_id WHERE " + " AND ".join(sql) + " ORDER BY a.id LIMIT ?", *params, limit)
    return {"job_applicants": [{"applicant_id": r["applicant_id"], "applicant_name": r["applicant_name"],
                                "email_id": r["email_id"], "job_opening": r["opening"], "job_title": r["job_title"],
                                "status": r["status"], "skills": [s for s in r["skills"].split(",") if s],
                                "resume_text": r["resume_text"], "applied_on": r["applied_on"]} for r in rows]}


def _may_recruit(ctx, opening: dict[str, Any], action: str) -> None:
    if not (domain.is_hr(ctx) or opening["hiring_manager_id"] == ctx.actor["id"]):
        raise ToolError("permission_denied", f"only HR, an admin or the hiring manager may {action}",
                        job_opening_id=opening["job_opening_id"])


@app.tool(returns={"applicant_id": "string", "status": "string"})
def create_job_applicant(
    ctx,
    applicant_name: Annotated[str, Field(description="Applicant's full name", min_length=2)],
    email_id: Annotated[str, Field(description="Applicant's email address", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")],
    job_opening: Annotated[str, Field(description="Job opening id (HR-OPN-2026-0001) or exact job title")],
    resume_text: Annotated[str | None, Field(description="Resume as plain text")] = None,
    skills: Annotated[str | None, Field(description="Comma-separated skills")] = None,
) -> dict:
    """Register an applicant for an open job opening (HR, admin or the hiring manager)."""
    o = _opening(ctx, job_opening)
    _may_recruit(ctx, o, "register applicants")
    if o["status"] != "Open":
        raise ToolError("rule_violation", f"job opening {o['job_opening_id']} is closed")
    email = email_id.strip().lower()
    if ctx.one("SELECT 1 FROM hr_job_applicants WHERE job_opening_id = ? AND email_id = ?", o["id"], email):
        raise ToolError("conflict", f"{email} already applied to {o['job_opening_id']}")
    aid = domain.next_name(ctx, "hr_job_applicants", f"HR-APP-{ctx.today[:4]}-", width=4)
    ctx.insert("hr_job_applicants", applicant_id=aid, applicant_name=applicant_name.strip(), email_id=email,
               job_opening_id=o["id"], status="Open", resume_text=resume_text or "",
               skills=",".join(sorted({s.strip().lower() for s in (skills or "").split(",") if s.strip()})),
               applied_on=ctx.today)
    return {"applicant_id": aid, "job_opening": o["job_opening_id"], "status": "Open"}


@app.tool(idempotent=True)
def update_job_applicant(
    ctx,
    applicant_id: Annotated[str, Field(description="Applicant id, e.g. HR-APP-2026-0007")],
    status: Annotated[Literal["Open", "Replied", "Hold", "Accepted", "Rejected"], Field(description="New status")],
) -> dict:
    """Move an applicant through the pipeline (HR, admin or the hiring manager). Accepted and
    Rejected are final; a closed opening accepts nobody."""
    a = ctx.get("hr_job_applicants", applicant_id, "job applicant", key="applicant_id")
    o = ctx.get("hr_job_openings", a["job_opening_id"], "job opening")
    _may_recruit(ctx, o, "update applicants")
    if a["status"] == status:
        return {"applicant_id": a["applicant_id"], "status": status, "changed": False}
    _transition("job applicant", APPLICANT_TRANSITIONS, a["applicant_id"], a["status"], status)
    if status == "Accepted" and o["status"] != "Open":
        raise ToolError("rule_violation", f"job opening {o['job_opening_id']} is closed")
    ctx.update("hr_job_applicants", a["id"], status=status)
    return {"applicant_id": a["applicant_id"], "status": status, "changed": True}


# ================================ shifts =======================================================


@app.tool(read_only=True)
def get_shift_assignments(
    ctx,
    employee_id: Annotated[str | None, Field(description="Only this employee (id, username or email)")] = None,
    from_date: DateOpt = None,
    to_date: DateOpt = None,
    limit: Limit = 20,
) -> dict:
    """Shift assignments (shift type and hours) valid in the given period."""
    _date_range(from_date, to_date)
    sql, params = ["1 = 1"], []
    if employee_id:
        sql.append("s.employee_id = ?")
        params.append(domain.employee(ctx, employee_id)["id"])
    if from_date:
        sql.append("(s.end_date IS NULL OR s.end_date >= ?)")
        params.append(from_date)
    if to_date:
        sql.append("s.start_date <= ?")
        params.append(to_date)
    rows = ctx.all("SELECT s.name, e.employee_id, e.full_name, t.name AS shift_type, t.start_time, t.end_time, "
                   "s.start_date, s.end_date, s.status FROM hr_shift_assignments s JOIN users e ON e.id = s.employee_id "
                   "JOIN hr_shift_types t ON t.id = s.shift_type_id WHERE " + " AND ".join(sql)
                   + " ORDER BY s.start_date DESC, s.id LIMIT ?", *params, limit)
    return {"shift_assignments": [{"shift_assignment_id": r["name"], "employee_id": r["employee_id"],
                                   "employee_name": r["full_name"], "shift_type": r["shift_type"],
                                   "start_time": r["start_time"], "end_time": r["end_time"],
                                   "start_date": r["start_date"], "end_date": r["end_date"], "status": r["status"]}
                                  for r in rows]}


@app.tool(returns={"shift_assignment_id": "string"})
def create_shift_assignment(
    ctx,
    employee_id: EmployeeReq,
    shift_type: Annotated[str, Field(description="Shift type: " + ", ".join(s[0] for s in words.SHIFT_TYPES))],
    start_date: Annotated[str, Field(description="First day, YYYY-MM-DD")],
    end_date: Annotated[str | None, Field(description="Last day, YYYY-MM-DD; open ended when omitted")] = None,
) -> dict:
    """Assign a shift to an employee (their manager, HR or admin). Active assignments of one
    employee may not overlap."""
    emp = domain.employee(ctx, employee_id)
    if not (domain.is_hr(ctx) or domain.manages(ctx, emp)):
        raise ToolError("permission_denied", "only the employee's manager, HR or an admin may assign shifts")
    st = ctx.one("SELECT * FROM hr_shift_types WHERE name = ? COLLATE NOCASE", shift_type)
    if st is None:
        raise not_found("shift type", shift_type)
    _date_range(start_date, end_date)
    domain.parse_date(start_date, "start_date")
    clash = ctx.one("SELECT name FROM hr_shift_assignments WHERE employee_id = ? AND status = 'Active' AND "
                    "(end_date IS NULL OR end_date >= ?) AND (? IS NULL OR start_date <= ?)",
                    emp["id"], start_date, end_date, end_date)
    if clash:
        raise ToolError("conflict", f"{emp['employee_id']} already has active shift assignment {clash['name']} "
                        "in that period", shift_assignment_id=clash["name"])
    name = domain.next_name(ctx, "hr_shift_assignments", f"HR-SHA-{start_date[:4]}-")
    ctx.insert("hr_shift_assignments", name=name, employee_id=emp["id"], shift_type_id=st["id"],
               start_date=start_date, end_date=end_date, status="Active")
    return {"shift_assignment_id": name, "employee_id": emp["employee_id"], "shift_type": st["name"]}


# ================================ reports ======================================================


@app.tool(read_only=True)
def get_hrms_report(
    ctx,
    report_name: Annotated[str, Field(description="Report: " + ", ".join(REPORTS))],
    filters: Annotated[dict | None, Field(description="Report filters, e.g. {\"department\": \"ENG\", "
                                                      "\"month\": \"2026-02\"}; each report lists its own")] = None,
) -> dict:
    """Run a standard HRMS report and return its rows."""
    return run_report(ctx, report_name, filters or {})
