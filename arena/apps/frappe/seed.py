"""Frappe HR seed: leave policy before the company is hired (so every hire gets allocations),
then a realistic HR history linked to the company's people: leave applications, attendance,
check-ins, timesheets, payroll, expense claims, shifts, and open positions with applicants."""
from __future__ import annotations

import datetime as dt

from arena.apps.frappe import app, domain, words
from arena.core import fake


@app.on("employee.hired")
def provision_employee(ctx, user_id: int) -> None:
    """A new employee gets this year's leave allocations and a salary structure assignment."""
    user = ctx.get("users", user_id)
    year = int(ctx.today[:4])
    domain.allocate_year(ctx, user_id, year)
    ctx.insert("hr_salary_structure_assignments", employee_id=user_id,
               salary_structure="Standard Monthly", base=domain.base_pay(user["designation"] or ""),
               from_date=max(user["date_joined"] or ctx.today, f"{year}-01-01"))


@app.seeder(order=-1)  # before the company: hires need the leave types
def seed_policy(ctx) -> None:
    for name, days in words.LEAVE_POLICY.items():
        ctx.insert("hr_leave_types", name=name, max_leaves_allowed=days, is_lwp=0)
    ctx.insert("hr_leave_types", name=words.LEAVE_WITHOUT_PAY, max_leaves_allowed=0, is_lwp=1)
    for name, start, end in words.SHIFT_TYPES:
        ctx.insert("hr_shift_types", name=name, start_time=start, end_time=end)


def _weekday_before(day: dt.date, n: int) -> dt.date:
    while n:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


@app.seeder(order=20)
def seed_history(ctx) -> None:
    rng = ctx.rng
    today = dt.date.fromisoformat(ctx.today)
    year = today.year
    people = ctx.all("SELECT u.id, u.employee_id, u.manager_id, u.role, u.designation, d.code AS dept "
                     "FROM users u LEFT JOIN departments d ON d.id = u.department_id ORDER BY u.id")
    types = {r["name"]: r for r in ctx.all("SELECT * FROM hr_leave_types WHERE is_lwp = 0")}
    hr_head = ctx.scalar("SELECT d.head_user_id FROM departments d WHERE d.code = 'HR'")
    _seed_leaves(ctx, rng, people, types, hr_head, today)
    _seed_attendance_and_checkins(ctx, rng, people, today)
    _seed_timesheets(ctx, rng, people, today)
    _seed_payroll(ctx, people, today)
    _seed_expenses(ctx, rng, people, today, hr_head)
    _seed_shifts(ctx, rng, people, year)
    _seed_recruitment(ctx, rng, year)


def _seed_leaves(ctx, rng, people, types, hr_head, today) -> None:
    year = today.year
    type_names = list(types)
    n = 0
    for p in people:
        if rng.random() > 0.4:
            continue
        start = dt.date(year, rng.randint(1, 4), rng.randint(1, 28))
        days = domain.working_days(start, start + dt.timedelta(days=rng.randint(0, 3)))
        if not days:
            continue
        status = rng.choices(["Approved", "Open", "Rejected", "Cancelled"], [5, 3, 1, 1])[0]
        approver = p["manager_id"] or hr_head
        n += 1
        row = {"name": f"HR-LAP-{year}-{n:05d}", "employee_id": p["id"],
               "leave_type_id": types[rng.choice(type_names)]["id"], "from_date": days[0].isoformat(),
               "to_date": days[-1].isoformat(), "half_day": 0, "total_leave_days": float(len(days)),
               "reason": rng.choice(words.LEAVE_REASONS), "status": status, "leave_approver_id": approver,
               "decided_by": approver if status in ("Approved", "Rejected") else None,
               "posting_date": min(days[0] - dt.timedelta(days=rng.randint(3, 20)), today).isoformat()}
        row["id"] = ctx.insert("hr_leave_applications", **row)
        if status == "Approved":
            domain.approve_effects(ctx, row, p, mail=False)


def _seed_attendance_and_checkins(ctx, rng, people, today) -> None:
    """The last working day's attendance for everyone, and this morning's check-ins."""
    day = _weekday_before(today, 1).isoformat()
    on_leave = {r["employee_id"] for r in ctx.all(
        "SELECT employee_id FROM hr_attendance WHERE attendance_date = ?", day)}
    n = ctx.scalar("SELECT MAX(id) FROM hr_attendance") or 0
    rows = []
    for p in people:
        if p["id"] in on_leave:
            continue
        n += 1
        status = rng.choices(["Present", "Work From Home", "Absent"], [85, 10, 5])[0]
        rows.append((f"HR-ATT-{day[:4]}-{n:05d}", p["id"], day, status))
    ctx.db.executemany("INSERT INTO hr_attendance (name, employee_id, attendance_date, status) VALUES (?, ?, ?, ?)",
                       rows)
    checkins = []
    for p in people:
        if rng.random() < 0.4:
            t = f"{today.isoformat()}T08:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
            checkins.append((f"EMP-CKIN-{today.year}-{len(checkins) + 1:05d}", p["id"], "IN", t))
    ctx.db.executemany("INSERT INTO hr_checkins (name, employee_id, log_type, time) VALUES (?, ?, ?, ?)", checkins)


def _seed_timesheets(ctx, rng, people, today) -> None:
    monday = today - dt.timedelta(days=today.weekday() + 7)  # last week
    n = 0
    for p in people:
        if p["dept"] not in ("ENG", "PRD") or rng.random() > 0.4:
            continue
        n += 1
        logs, total = [], 0.0
        for d in range(3):
            day = monday + dt.timedelta(days=rng.randint(0, 4))
            start = rng.randint(9, 13)
            hours = rng.randint(2, 4)
            logs.append((rng.choice(words.ACTIVITY_TYPES), f"{day}T{start:02d}:00:00",
                         f"{day}T{start + hours:02d}:00:00", float(hours), f"PROJ-{rng.randint(1, 12):04d}",
                         fake.task_title(rng)))
            total += hours
        sid = ctx.insert("hr_timesheets", name=f"TS-{today.year}-{n:05d}", employee_id=p["id"],
                         start_date=monday.isoformat(), end_date=(monday + dt.timedelta(days=4)).isoformat(),
                         total_hours=total, status=rng.choice(["Draft", "Submitted", "Submitted"]))
        ctx.db.executemany("INSERT INTO hr_timesheet_logs (timesheet_id, activity_type, from_time, to_time, hours, "
                           "project, description) VALUES (?, ?, ?, ?, ?, ?, ?)", [(sid, *log) for log in logs])


def salary_figures(base: float) -> tuple[float, float, float]:
    gross = round(base * (1 + words.HRA_SHARE), 2)
    deduction = round(gross * (words.INCOME_TAX_SHARE + words.SOCIAL_SECURITY_SHARE), 2)
    return gross, deduction, round(gross - deduction, 2)


def _seed_payroll(ctx, people, today) -> None:
    """Last month's payroll run (submitted, one slip per person) and this month's draft run."""
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    start, end = domain.month_bounds(last_month.isoformat()[:7])
    bases = {r["employee_id"]: r["base"] for r in ctx.all("SELECT employee_id, base FROM hr_salary_structure_assignments")}
    pid = ctx.insert("hr_payroll_entries", name=f"HR-PRUN-{today.year}-00001", posting_date=end,
                     payroll_frequency="Monthly", start_date=start, end_date=end, status="Submitted",
                     number_of_employees=0, total_net_pay=0)
    slips, total = [], 0.0
    for i, p in enumerate(people, 1):
        gross, ded, net = salary_figures(bases[p["id"]])
        total += net
        slips.append((f"Sal Slip/{p['employee_id']}/{i:05d}", p["id"], pid, start, end, end, gross, ded, net,
                      "Submitted"))
    ctx.db.executemany("INSERT INTO hr_salary_slips (name, employee_id, payroll_entry_id, start_date, end_date, "
                       "posting_date, gross_pay, total_deduction, net_pay, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       slips)
    ctx.update("hr_payroll_entries", pid, number_of_employees=len(slips), total_net_pay=round(total, 2))
    start, end = domain.month_bounds(this_month.isoformat()[:7])
    ctx.insert("hr_payroll_entries", name=f"HR-PRUN-{today.year}-00002", posting_date=end,
               payroll_frequency="Monthly", start_date=start, end_date=end, status="Draft",
               number_of_employees=len(people), total_net_pay=0)


def _seed_expenses(ctx, rng, people, today, hr_head) -> None:
    rows = []
    for p in people:
        if rng.random() > 0.3:
            continue
        kind = rng.choice(words.EXPENSE_TYPES)
        day = today - dt.timedelta(days=rng.randint(3, 60))
        status = rng.choices(["Draft", "Submitted", "Approved", "Rejected"], [2, 4, 5, 1])[0]
        approver = p["manager_id"] or hr_head
        decided = status in ("Approved", "Rejected")
        rows.append((f"HR-EXP-{today.year}-{len(rows) + 1:05d}", p["id"], kind, day.isoformat(),
                     round(rng.uniform(12, 900), 2), rng.choice(words.EXPENSE_DESCRIPTIONS[kind]), status,
                     approver if decided else None, (day + dt.timedelta(days=2)).isoformat() if decided else None,
                     day.isoformat()))
    ctx.db.executemany("INSERT INTO hr_expense_claims (name, employee_id, expense_type, expense_date, amount, "
                       "description, status, approver_id, decided_at, posting_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       rows)


def _seed_shifts(ctx, rng, people, year) -> None:
    shifts = {r["name"]: r["id"] for r in ctx.all("SELECT id, name FROM hr_shift_types")}
    rows = []
    for p in people:
        if p["dept"] not in ("SUP", "ITO") or p["role"] != "employee":  # managers work office hours
            continue
        shift = rng.choice(["General Shift", "Morning Shift", "Evening Shift"]) if p["dept"] == "SUP" else \
            rng.choice(["General Shift", "Night Shift"])
        rows.append((f"HR-SHA-{year}-{len(rows) + 1:05d}", p["id"], shifts[shift], f"{year}-01-01", None, "Active"))
    ctx.db.executemany("INSERT INTO hr_shift_assignments (name, employee_id, shift_type_id, start_date, end_date, "
                       "status) VALUES (?, ?, ?, ?, ?, ?)", rows)


def _resume(rng, name: str, email: str, title: str, skills: list[tuple[str, int]]) -> str:
    years = max(y for _, y in skills) + rng.randint(0, 3)
    summary = rng.choice(words.APPLICANT_SUMMARIES).format(years=years, role=title.lower(),
                                                            company=rng.choice(fake.COMPANIES))
    skill_lines = "\n".join(f"- {s}: {y} years" for s, y in skills)
    jobs = rng.sample(fake.COMPANIES, 2)
    start = 2026 - years
    mid = start + max(1, years // 2)
    exp = (f"- {jobs[0]} ({mid}-present): {rng.choice(words.EXPERIENCE_LINES)}.\n"
           f"- {jobs[1]} ({start}-{mid}): {rng.choice(words.EXPERIENCE_LINES)}.")
    return f"{name}\n{email}\n\nSUMMARY\n{summary}\n\nSKILLS\n{skill_lines}\n\nEXPERIENCE\n{exp}\n"


def _seed_recruitment(ctx, rng, year) -> None:
    """Openings with 5-10 applicants each. The applicants' overlap with the required skills is
    distinct for the best four (R, R-1, R-2, R-3) and lower for everyone else, so "the top three
    candidates by required skills" has exactly one answer."""
    depts = {r["code"]: r for r in ctx.all("SELECT id, code, head_user_id FROM departments")}
    eng_managers = [r["id"] for r in ctx.all(
        "SELECT id FROM users WHERE designation = 'Engineering Manager' ORDER BY id")]
    openings = [(t, c, d, s, t in words.CLOSED_OPENINGS) for t, c, d, s in words.JOB_OPENINGS]
    for i in range(ctx.k // 2):  # bigger companies also have a history of filled positions
        t, c, d, s = words.JOB_OPENINGS[i % len(words.JOB_OPENINGS)]
        openings.append((f"{t} ({fake.CITIES[i % len(fake.CITIES)][0]} {2025 - i // 96})", c, d, s, True))
    n_app = 0
    for n_open, (title, code, designation, skills_csv, closed) in enumerate(openings, 1):
        required = skills_csv.split(",")
        manager = eng_managers[(n_open - 1) % len(eng_managers)] if code == "ENG" and eng_managers \
            else depts[code]["head_user_id"]
        desc = (f"We are hiring a {title} for our {code} team. You will work with "
                f"{', '.join(required[:-1])} and {required[-1]} every day.")
        oid = ctx.insert("hr_job_openings", job_opening_id=f"HR-OPN-{year}-{n_open:04d}", job_title=title,
                         designation=designation, department_id=depts[code]["id"], description=desc,
                         required_skills=skills_csv, status="Closed" if closed else "Open",
                         no_of_positions=rng.choice([1, 1, 2]), hiring_manager_id=manager,
                         posted_on=f"{year}-0{rng.randint(1, 2)}-{rng.randint(1, 28):02d}")
        n = rng.randint(5, 10)
        r = len(required)
        overlaps = [r, r - 1, r - 2, r - 3] + [rng.randint(0, max(0, r - 4)) for _ in range(n - 4)]
        rng.shuffle(overlaps)
        others = [s for s in fake.SKILLS if s not in required]
        rows = []
        for j, overlap in enumerate(overlaps):
            first, last = fake.person(rng)
            n_app += 1
            name = f"{first} {last}"
            email = f"{first}.{last}.{n_app}@applicants.example".lower()
            have = rng.sample(required, overlap) + rng.sample(others, rng.randint(1, 3))
            with_years = [(s, rng.randint(1, 9)) for s in have]
            status = "Rejected" if closed and j else ("Accepted" if closed else
                                                     rng.choices(["Open", "Replied", "Hold"], [6, 2, 1])[0])
            rows.append((f"HR-APP-{year}-{n_app:04d}", name, email, oid, status,
                         _resume(rng, name, email, title, with_years), ",".join(sorted(have)),
                         f"{year}-02-{rng.randint(1, 28):02d}"))
        ctx.db.executemany("INSERT INTO hr_job_applicants (applicant_id, applicant_name, email_id, job_opening_id, "
                           "status, resume_text, skills, applied_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
