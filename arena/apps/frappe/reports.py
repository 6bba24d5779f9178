"""The standard HRMS reports behind `get_hrms_report`: each is a name, the filters it accepts and
one grouped SQL query (so a report costs one query, not one per employee)."""
from __future__ import annotations

from typing import Any, Callable

from arena.apps.frappe import domain
from arena.core.errors import ToolError

MAX_ROWS = 500


def _employee_scope(ctx, filters: dict[str, Any], sql: list[str], args: list[Any]) -> None:
    """Employee/department filters; people outside HR see only themselves and their reports."""
    if filters.get("employee"):
        emp = domain.employee(ctx, str(filters["employee"]))
        domain.require_self_or_manager(ctx, emp, "run this report")
        sql.append("e.id = ?")
        args.append(emp["id"])
    elif not domain.is_hr(ctx) and ctx.actor["role"] != "finance":
        sql.append("(e.id = ? OR e.manager_id = ?)")
        args.extend([ctx.actor["id"], ctx.actor["id"]])
    if filters.get("department"):
        sql.append("e.department_id = ?")
        args.append(domain.department(ctx, str(filters["department"]))["id"])


def leave_balance(ctx, filters: dict[str, Any]) -> dict:
    year = int(filters.get("year") or ctx.today[:4])
    sql, args = ["al.from_date = ?"], [f"{year}-01-01"]
    _employee_scope(ctx, filters, sql, args)
    if filters.get("leave_type"):
        sql.append("t.id = ?")
        args.append(domain.leave_type(ctx, str(filters["leave_type"]))["id"])
    rows = ctx.all(
        "SELECT e.employee_id, e.full_name AS employee_name, t.name AS leave_type, al.new_leaves_allocated AS allocated, "
        "COALESCE(u.taken, 0) AS taken, COALESCE(u.pending, 0) AS pending, "
        "al.new_leaves_allocated - COALESCE(u.taken, 0) AS balance "
        "FROM hr_leave_allocations al JOIN users e ON e.id = al.employee_id JOIN hr_leave_types t ON t.id = al.leave_type_id "
        "LEFT JOIN (SELECT employee_id, leave_type_id, SUM(CASE WHEN status = 'Approved' THEN total_leave_days END) AS taken, "
        "SUM(CASE WHEN status = 'Open' THEN total_leave_days END) AS pending FROM hr_leave_applications "
        "WHERE from_date BETWEEN ? AND ? GROUP BY employee_id, leave_type_id) u "
        "ON u.employee_id = al.employee_id AND u.leave_type_id = al.leave_type_id "
        "WHERE " + " AND ".join(sql) + " ORDER BY e.id, t.id LIMIT ?",
        f"{year}-01-01", f"{year}-12-31", *args, MAX_ROWS)
    return {"columns": ["employee_id", "employee_name", "leave_type", "allocated", "taken", "pending", "balance"],
            "rows": rows}


def monthly_attendance(ctx, filters: dict[str, Any]) -> dict:
    month = str(filters.get("month") or ctx.today[:7])
    start, end = domain.month_bounds(month)
    sql, args = ["a.attendance_date BETWEEN ? AND ?"], [start, end]
    _employee_scope(ctx, filters, sql, args)
    rows = ctx.all(
        "SELECT e.employee_id, e.full_name AS employee_name, "
        "SUM(a.status = 'Present') AS present, SUM(a.status = 'Work From Home') AS work_from_home, "
        "SUM(a.status = 'Half Day') AS half_day, SUM(a.status = 'On Leave') AS on_leave, "
        "SUM(a.status = 'Absent') AS absent FROM hr_attendance a JOIN users e ON e.id = a.employee_id "
        "WHERE " + " AND ".join(sql) + " GROUP BY e.id ORDER BY e.id LIMIT ?", *args, MAX_ROWS)
    return {"month": month, "columns": ["employee_id", "employee_name", "present", "work_from_home", "half_day",
                                        "on_leave", "absent"], "rows": rows}


def employee_analytics(ctx, filters: dict[str, Any]) -> dict:
    status = str(filters.get("status") or "Active")
    if status not in ("Active", "Left"):
        raise ToolError("invalid_arguments", f"filters.status must be Active or Left, got {status!r}",
                        field="filters.status")
    sql, args = ["e.status = ?"], ["active" if status == "Active" else "left"]
    if filters.get("department"):
        sql.append("e.department_id = ?")
        args.append(domain.department(ctx, str(filters["department"]))["id"])
    rows = ctx.all("SELECT d.name AS department, e.designation, COUNT(*) AS headcount FROM users e "
                   "LEFT JOIN departments d ON d.id = e.department_id WHERE " + " AND ".join(sql)
                   + " GROUP BY d.name, e.designation ORDER BY d.name, headcount DESC, e.designation LIMIT ?",
                   *args, MAX_ROWS)
    return {"columns": ["department", "designation", "headcount"], "rows": rows,
            "total": sum(r["headcount"] for r in rows)}


def salary_register(ctx, filters: dict[str, Any]) -> dict:
    ctx.require_role("hr", "finance", action="run the Salary Register")
    month = filters.get("month") or (ctx.scalar("SELECT MAX(start_date) FROM hr_salary_slips") or ctx.today)[:7]
    start, _ = domain.month_bounds(str(month))
    sql, args = ["s.start_date = ?"], [start]
    _employee_scope(ctx, filters, sql, args)
    rows = ctx.all("SELECT s.name AS salary_slip_id, e.employee_id, e.full_name AS employee_name, d.name AS department, "
                   "s.gross_pay, s.total_deduction, s.net_pay FROM hr_salary_slips s JOIN users e ON e.id = s.employee_id "
                   "LEFT JOIN departments d ON d.id = e.department_id WHERE " + " AND ".join(sql)
                   + " ORDER BY e.id LIMIT ?", *args, MAX_ROWS)
    return {"month": month, "columns": ["salary_slip_id", "employee_id", "employee_name", "department", "gross_pay",
                                        "total_deduction", "net_pay"], "rows": rows,
            "total_net_pay": round(sum(r["net_pay"] for r in rows), 2)}


def recruitment_analytics(ctx, filters: dict[str, Any]) -> dict:
    sql, args = ["1 = 1"], []
    if filters.get("job_opening"):
        sql.append("(o.job_opening_id = ? OR o.job_title = ? COLLATE NOCASE)")
        args.extend([filters["job_opening"]] * 2)
    if filters.get("status"):
        sql.append("o.status = ?")
        args.append(filters["status"])
    rows = ctx.all(
        "SELECT o.job_opening_id, o.job_title, o.status, COUNT(a.id) AS applicants, "
        "SUM(a.status = 'Open') AS open, SUM(a.status = 'Replied') AS replied, SUM(a.status = 'Hold') AS hold, "
        "SUM(a.status = 'Accepted') AS accepted, SUM(a.status = 'Rejected') AS rejected FROM hr_job_openings o "
        "LEFT JOIN hr_job_applicants a ON a.job_opening_id = o.id WHERE " + " AND ".join(sql)
        + " GROUP BY o.id ORDER BY o.id LIMIT ?", *args, MAX_ROWS)
    return {"columns": ["job_opening_id", "job_title", "status", "applicants", "open", "replied", "hold", "accepted",
                        "rejected"], "rows": rows}


# report name -> (accepted filter keys, function)
REPORTS: dict[str, tuple[set[str], Callable[..., dict]]] = {
    "Employee Leave Balance": ({"employee", "department", "leave_type", "year"}, leave_balance),
    "Monthly Attendance Sheet": ({"month", "employee", "department"}, monthly_attendance),
    "Employee Analytics": ({"department", "status"}, employee_analytics),
    "Salary Register": ({"month", "employee", "department"}, salary_register),
    "Recruitment Analytics": ({"job_opening", "status"}, recruitment_analytics),
}


def run_report(ctx, report_name: str, filters: dict[str, Any]) -> dict:
    name = next((n for n in REPORTS if n.lower() == report_name.strip().lower()), None)
    if name is None:
        raise ToolError("not_found", f"report {report_name!r} not found; available: {', '.join(REPORTS)}",
                        entity="report", key=report_name, available=list(REPORTS))
    allowed, fn = REPORTS[name]
    unknown = sorted(set(filters) - allowed)
    if unknown:
        raise ToolError("invalid_arguments", f"{name}: unknown filter(s) {', '.join(unknown)}; accepted: "
                        + ", ".join(sorted(allowed)), field="filters", unknown=unknown)
    out = {"report_name": name, "filters": filters, **fn(ctx, filters)}
    if len(out["rows"]) >= MAX_ROWS:  # say so rather than let a partial report look complete
        out["truncated"] = True
        out["note"] = f"only the first {MAX_ROWS} rows; narrow the filters (e.g. department or employee)"
    return out
