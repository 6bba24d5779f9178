"""Frappe HR rules shared by the tools and the seed: naming series, dates, who may act on whose
records, leave balances and what a leave approval does."""
from __future__ import annotations

import datetime as dt
from typing import Any

from arena.apps.frappe import words
from arena.core.errors import ToolError, not_found

# -- naming series (Frappe's "HR-LAP-.YYYY.-.#####") ------------------------------------------


def next_name(ctx, table: str, prefix: str, width: int = 5) -> str:
    n = (ctx.scalar(f"SELECT MAX(id) FROM {table}") or 0) + 1
    return f"{prefix}{n:0{width}d}"


# -- dates --------------------------------------------------------------------------------------


def parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date (YYYY-MM-DD)",
                        field=field, value=value) from None


def parse_datetime(value: str, field: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value.replace(" ", "T"))
    except (TypeError, ValueError, AttributeError):
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date-time (YYYY-MM-DDTHH:MM[:SS])",
                        field=field, value=value) from None


def working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Monday to Friday in [start, end]: the holiday list is the weekends."""
    out, day = [], start
    while day <= end:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def month_bounds(month: str) -> tuple[str, str]:
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ToolError("invalid_arguments", f"month: {month!r} is not a month (YYYY-MM)",
                        field="month", value=month) from None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first.isoformat(), (nxt - dt.timedelta(days=1)).isoformat()


# -- people -------------------------------------------------------------------------------------


def employee(ctx, ident: str | None) -> dict[str, Any]:
    """The employee named by an employee id (HR-EMP-00001), username, email or user id; the acting
    user when omitted."""
    if ident is None or ident == "":
        return ctx.actor
    try:
        return ctx.user_by(ident)
    except ToolError:
        raise not_found("employee", ident) from None


def is_hr(ctx) -> bool:
    return ctx.actor["role"] in ("hr", "admin")


def manages(ctx, emp: dict[str, Any]) -> bool:
    return emp["manager_id"] is not None and emp["manager_id"] == ctx.actor["id"]


def require_self_or_manager(ctx, emp: dict[str, Any], action: str, also: tuple[str, ...] = ()) -> None:
    """The employee themself, their manager, HR or an admin (plus the extra roles in `also`)."""
    actor = ctx.actor
    if actor["id"] == emp["id"] or is_hr(ctx) or manages(ctx, emp) or actor["role"] in also:
        return
    raise ToolError("permission_denied",
                    f"{actor['username']} ({actor['role']}) may not {action} for {emp['employee_id']}; "
                    "only the employee, their manager, HR or an admin may", employee_id=emp["employee_id"])


def department(ctx, ident: str) -> dict[str, Any]:
    row = ctx.one("SELECT * FROM departments WHERE name = ? COLLATE NOCASE OR code = ? COLLATE NOCASE "
                  "OR CAST(id AS TEXT) = ?", ident, ident, ident)
    if row is None:
        raise not_found("department", ident)
    return row


def base_pay(designation: str) -> int:
    if designation.startswith("Head of "):
        return words.HEAD_BASE
    return words.BASE_PAY.get(designation, words.DEFAULT_BASE)


# -- leave ---------------------------------------------------------------------------------------


def leave_type(ctx, name: str) -> dict[str, Any]:
    row = ctx.one("SELECT * FROM hr_leave_types WHERE name = ? COLLATE NOCASE", name)
    if row is None:
        names = [r["name"] for r in ctx.all("SELECT name FROM hr_leave_types ORDER BY id")]
        raise ToolError("not_found", f"leave type {name!r} not found; known: {', '.join(names)}",
                        entity="leave type", key=name, known=names)
    return row


def allocate_year(ctx, user_id: int, year: int) -> None:
    """The yearly allocation of every leave type with a policy (new hires get the full year)."""
    types = ctx.all("SELECT id, name FROM hr_leave_types WHERE is_lwp = 0 ORDER BY id")
    n = ctx.scalar("SELECT MAX(id) FROM hr_leave_allocations") or 0
    for t in types:
        n += 1
        ctx.insert("hr_leave_allocations", name=f"HR-LAL-{year}-{n:05d}", employee_id=user_id,
                   leave_type_id=t["id"], from_date=f"{year}-01-01", to_date=f"{year}-12-31",
                   new_leaves_allocated=words.LEAVE_POLICY[t["name"]])


def balance(ctx, user_id: int, type_row: dict[str, Any], year: int) -> dict[str, Any]:
    """Allocated, taken (approved), pending (open) and balance (allocated - taken) for one year."""
    allocated = ctx.scalar(
        "SELECT COALESCE(SUM(new_leaves_allocated), 0) FROM hr_leave_allocations "
        "WHERE employee_id = ? AND leave_type_id = ? AND from_date <= ? AND to_date >= ?",
        user_id, type_row["id"], f"{year}-12-31", f"{year}-01-01")
    used = ctx.one(
        "SELECT COALESCE(SUM(CASE WHEN status = 'Approved' THEN total_leave_days END), 0) AS taken, "
        "COALESCE(SUM(CASE WHEN status = 'Open' THEN total_leave_days END), 0) AS pending "
        "FROM hr_leave_applications WHERE employee_id = ? AND leave_type_id = ? AND status IN ('Approved', 'Open') "
        "AND from_date BETWEEN ? AND ?", user_id, type_row["id"], f"{year}-01-01", f"{year}-12-31")
    return {"leave_type": type_row["name"], "allocated": allocated, "taken": used["taken"],
            "pending": used["pending"], "balance": allocated - used["taken"]}


def approve_effects(ctx, app: dict[str, Any], employee_row: dict[str, Any], mail: bool = True) -> int:
    """What approving a leave does besides the status: 'On Leave' attendance for each working day
    not yet marked, a notification, an e-mail to the employee (when `mail`; the seed's history
    sends none), and the `leave.approved` event (the calendar blocks the days).
    Returns the number of attendance rows written."""
    days = working_days(dt.date.fromisoformat(app["from_date"]), dt.date.fromisoformat(app["to_date"]))
    marked = {r["attendance_date"] for r in ctx.all(
        "SELECT attendance_date FROM hr_attendance WHERE employee_id = ? AND attendance_date BETWEEN ? AND ?",
        app["employee_id"], app["from_date"], app["to_date"])}
    n = ctx.scalar("SELECT MAX(id) FROM hr_attendance") or 0
    written = 0
    for day in days:
        iso = day.isoformat()
        if iso in marked:
            continue
        n += 1
        ctx.insert("hr_attendance", name=f"HR-ATT-{day.year}-{n:05d}", employee_id=app["employee_id"],
                   attendance_date=iso, status="Half Day" if app["half_day"] else "On Leave",
                   leave_application_id=app["id"])
        written += 1
    ctx.notify(app["employee_id"], "frappe",
               f"Your leave {app['name']} ({app['from_date']} to {app['to_date']}) was approved", ref=app["name"])
    if mail:
        mail_employee(ctx, employee_row, f"Leave approved: {app['from_date']} to {app['to_date']}",
                      f"Hello {employee_row['first_name']},\n\nyour leave application {app['name']} "
                      f"({app['from_date']} to {app['to_date']}, {app['total_leave_days']:g} day(s)) was approved "
                      f"by {ctx.actor['full_name']}. Your calendar shows you as out of office.\n\nFrappe HR")
    ctx.emit("leave.approved", user_id=app["employee_id"], from_date=app["from_date"], to_date=app["to_date"],
             leave_application_id=app["name"])
    return written


def mail_employee(ctx, employee_row: dict[str, Any], subject: str, body: str) -> None:
    """HR mail goes out from the system address through the mail app (a no-op without it)."""
    ctx.emit("mail.send", sender_id=None, to=[employee_row["email"]], subject=subject, body=body)
