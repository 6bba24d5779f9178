"""Frappe HR: employees, leave, attendance, check-ins, timesheets, payroll, expense claims,
recruitment, shifts and HR reports. Tool names and parameters follow the published arena's
Frappe HR MCP server (get_my_profile, apply_leave, approve_leave, ...), plus the hiring and
approval tools the real HRMS API has (create_employee, reject_leave, approve_expense_claim, ...).

The core `users` table is the employee master (employee ids like HR-EMP-00001); HR-only data
lives in `hr_*` tables. Approving a leave emits `leave.approved` (the calendar blocks the days)."""
from arena.apps.frappe.schema import SCHEMA
from arena.core.app import App

app = App("frappe", title="Frappe HR", domain="Human resources", schema=SCHEMA,
          description="HRMS: employees, leave, attendance, timesheets, payroll, expenses, recruitment.")

from arena.apps.frappe import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
