"""Frappe HR tables (prefix hr_). Employees are the core `users` rows; everything here points at
them. Status columns carry CHECKs with exactly the values the real doctypes allow."""

SCHEMA = """
CREATE TABLE hr_leave_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- 'Casual Leave'
    max_leaves_allowed REAL NOT NULL CHECK (max_leaves_allowed >= 0),
    is_lwp INTEGER NOT NULL DEFAULT 0         -- leave without pay: no balance is kept
);
CREATE TABLE hr_leave_allocations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- HR-LAL-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    leave_type_id INTEGER NOT NULL REFERENCES hr_leave_types(id),
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    new_leaves_allocated REAL NOT NULL CHECK (new_leaves_allocated >= 0),
    UNIQUE (employee_id, leave_type_id, from_date)
);
CREATE TABLE hr_leave_applications (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- HR-LAP-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    leave_type_id INTEGER NOT NULL REFERENCES hr_leave_types(id),
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    half_day INTEGER NOT NULL DEFAULT 0,
    total_leave_days REAL NOT NULL CHECK (total_leave_days > 0),
    reason TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'Open' CHECK (status IN ('Open', 'Approved', 'Rejected', 'Cancelled')),
    leave_approver_id INTEGER REFERENCES users(id),
    decided_by INTEGER REFERENCES users(id),
    posting_date TEXT NOT NULL,
    CHECK (to_date >= from_date)
);
CREATE INDEX hr_leave_applications_employee ON hr_leave_applications(employee_id, status);
CREATE TABLE hr_attendance (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- HR-ATT-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    attendance_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Present', 'Absent', 'On Leave', 'Half Day', 'Work From Home')),
    leave_application_id INTEGER REFERENCES hr_leave_applications(id),
    UNIQUE (employee_id, attendance_date)
);
CREATE INDEX hr_attendance_date ON hr_attendance(attendance_date);
CREATE TABLE hr_checkins (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- EMP-CKIN-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    log_type TEXT NOT NULL CHECK (log_type IN ('IN', 'OUT')),
    time TEXT NOT NULL
);
CREATE INDEX hr_checkins_employee ON hr_checkins(employee_id, time);
CREATE TABLE hr_timesheets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- TS-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    total_hours REAL NOT NULL CHECK (total_hours > 0),
    status TEXT NOT NULL DEFAULT 'Draft' CHECK (status IN ('Draft', 'Submitted', 'Cancelled'))
);
CREATE INDEX hr_timesheets_employee ON hr_timesheets(employee_id, start_date);
CREATE TABLE hr_timesheet_logs (
    id INTEGER PRIMARY KEY,
    timesheet_id INTEGER NOT NULL REFERENCES hr_timesheets(id),
    activity_type TEXT NOT NULL,
    from_time TEXT NOT NULL,
    to_time TEXT NOT NULL,
    hours REAL NOT NULL CHECK (hours > 0),
    project TEXT,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX hr_timesheet_logs_sheet ON hr_timesheet_logs(timesheet_id);
CREATE TABLE hr_salary_structure_assignments (
    id INTEGER PRIMARY KEY,
    employee_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    salary_structure TEXT NOT NULL,
    base REAL NOT NULL CHECK (base > 0),      -- monthly base pay, EUR
    from_date TEXT NOT NULL
);
CREATE TABLE hr_payroll_entries (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- HR-PRUN-2026-00001
    posting_date TEXT NOT NULL,
    payroll_frequency TEXT NOT NULL CHECK (payroll_frequency IN ('Monthly', 'Fortnightly', 'Weekly', 'Daily')),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Draft', 'Submitted', 'Cancelled')),
    number_of_employees INTEGER NOT NULL,
    total_net_pay REAL NOT NULL
);
CREATE TABLE hr_salary_slips (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- Sal Slip/HR-EMP-00001/00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    payroll_entry_id INTEGER REFERENCES hr_payroll_entries(id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    posting_date TEXT NOT NULL,
    gross_pay REAL NOT NULL,
    total_deduction REAL NOT NULL,
    net_pay REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('Draft', 'Submitted', 'Cancelled')),
    CHECK (abs(gross_pay - total_deduction - net_pay) < 0.005),
    UNIQUE (employee_id, start_date)
);
CREATE TABLE hr_expense_claims (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- HR-EXP-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    expense_type TEXT NOT NULL,
    expense_date TEXT NOT NULL,
    amount REAL NOT NULL CHECK (amount > 0),
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'Draft' CHECK (status IN ('Draft', 'Submitted', 'Approved', 'Rejected')),
    approver_id INTEGER REFERENCES users(id),
    decided_at TEXT,
    remarks TEXT NOT NULL DEFAULT '',
    posting_date TEXT NOT NULL
);
CREATE INDEX hr_expense_claims_employee ON hr_expense_claims(employee_id, status);
CREATE TABLE hr_job_openings (
    id INTEGER PRIMARY KEY,
    job_opening_id TEXT NOT NULL UNIQUE,      -- HR-OPN-2026-0001
    job_title TEXT NOT NULL,
    designation TEXT NOT NULL,
    department_id INTEGER REFERENCES departments(id),
    description TEXT NOT NULL DEFAULT '',
    required_skills TEXT NOT NULL DEFAULT '',  -- comma separated, lower case
    status TEXT NOT NULL DEFAULT 'Open' CHECK (status IN ('Open', 'Closed')),
    no_of_positions INTEGER NOT NULL DEFAULT 1 CHECK (no_of_positions >= 1),
    hiring_manager_id INTEGER REFERENCES users(id),
    posted_on TEXT NOT NULL
);
CREATE TABLE hr_job_applicants (
    id INTEGER PRIMARY KEY,
    applicant_id TEXT NOT NULL UNIQUE,        -- HR-APP-2026-0001
    applicant_name TEXT NOT NULL,
    email_id TEXT NOT NULL,
    job_opening_id INTEGER NOT NULL REFERENCES hr_job_openings(id),
    status TEXT NOT NULL DEFAULT 'Open' CHECK (status IN ('Open', 'Replied', 'Hold', 'Accepted', 'Rejected')),
    resume_text TEXT NOT NULL DEFAULT '',
    skills TEXT NOT NULL DEFAULT '',          -- comma separated, lower case
    applied_on TEXT NOT NULL,
    UNIQUE (job_opening_id, email_id)
);
CREATE INDEX hr_job_applicants_opening ON hr_job_applicants(job_opening_id, status);
CREATE TABLE hr_shift_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL
);
CREATE TABLE hr_shift_assignments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,                -- HR-SHA-2026-00001
    employee_id INTEGER NOT NULL REFERENCES users(id),
    shift_type_id INTEGER NOT NULL REFERENCES hr_shift_types(id),
    start_date TEXT NOT NULL,
    end_date TEXT,                            -- NULL: open ended
    status TEXT NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Inactive'))
);
CREATE INDEX hr_shift_assignments_employee ON hr_shift_assignments(employee_id, start_date);
"""
