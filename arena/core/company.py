"""The company every app shares: departments, people (one row per person, the identity all apps
refer to) and notifications. Apps keep their own account tables keyed by `users.id` and create
them when they see `employee.hired`, so a hire through HR provisions everything else."""
from __future__ import annotations

from arena.core import fake
from arena.core.app import App

SCHEMA = """
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL UNIQUE,
    head_user_id INTEGER REFERENCES users(id)
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    full_name TEXT NOT NULL,
    employee_id TEXT UNIQUE,               -- Frappe-style HR-EMP-00001
    department_id INTEGER REFERENCES departments(id),
    manager_id INTEGER REFERENCES users(id),
    designation TEXT,
    role TEXT NOT NULL DEFAULT 'employee'
        CHECK (role IN ('employee', 'manager', 'hr', 'finance', 'admin')),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
    date_joined TEXT,
    skills TEXT NOT NULL DEFAULT '',       -- comma separated, lower case
    location TEXT
);
CREATE INDEX users_department ON users(department_id);
CREATE INDEX users_manager ON users(manager_id);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    app TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'info',
    text TEXT NOT NULL,
    ref TEXT,
    created_at TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_user ON notifications(user_id);
"""

CORE = App("core", title="Company directory", domain="Core", schema=SCHEMA, depends_on=(),
           description="Departments, people and notifications shared by every app.")

# The default acting user of an episode: an operations manager with admin rights.
DEFAULT_ACTOR = "jordan.lee"


def _unique_username(taken: set[str], first: str, last: str) -> str:
    base = f"{first}.{last}".lower()
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def hire(ctx, *, first_name: str, last_name: str, department_id: int, designation: str, role: str = "employee",
         manager_id: int | None = None, skills: str = "", location: str | None = None,
         username: str | None = None, date_joined: str | None = None) -> int:
    """Create a person and tell every app (the one code path for seeds and for HR's hiring tool)."""
    taken = {r["username"] for r in ctx.all("SELECT username FROM users WHERE username LIKE ?",
                                             f"{first_name.lower()}.{last_name.lower()}%")}
    username = username or _unique_username(taken, first_name, last_name)
    next_no = (ctx.scalar("SELECT MAX(id) FROM users") or 0) + 1
    uid = ctx.insert(
        "users", username=username, email=f"{username}@acme-corp.example", first_name=first_name,
        last_name=last_name, full_name=f"{first_name} {last_name}", employee_id=f"HR-EMP-{next_no:05d}",
        department_id=department_id, manager_id=manager_id, designation=designation, role=role,
        status="active", date_joined=date_joined or ctx.today, skills=skills, location=location,
    )
    ctx.emit("employee.hired", user_id=uid)
    return uid


@CORE.seeder(order=0)
def seed_company(ctx) -> None:
    rng = ctx.rng
    n_people = 30 + 10 * ctx.k
    dept_ids = {}
    for name, code in fake.DEPARTMENTS:
        dept_ids[code] = ctx.insert("departments", name=name, code=code)
    # id 1: the default actor, head of IT operations, admin rights
    heads = {}
    jordan = hire(ctx, first_name="Jordan", last_name="Lee", username=DEFAULT_ACTOR, department_id=dept_ids["ITO"],
                  designation="Operations Manager", role="admin", skills="itil,linux,bash,networking",
                  location="Berlin", date_joined="2019-04-01")
    heads["ITO"] = jordan
    for name, code in fake.DEPARTMENTS:
        if code in heads:
            continue
        first, last = fake.person(rng)
        heads[code] = hire(ctx, first_name=first, last_name=last, department_id=dept_ids[code],
                           designation=f"Head of {name}", role="hr" if code == "HR" else "manager",
                           manager_id=jordan,
                           skills=",".join(rng.sample(fake.SKILLS, 3)), location=rng.choice(fake.CITIES)[0],
                           date_joined=f"20{rng.randint(15, 21)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}")
    for code, uid in heads.items():
        ctx.update("departments", dept_ids[code], head_user_id=uid)
    # engineering gets team leads so that the org chart has depth
    leads = {code: [heads[code]] for code in heads}
    for _ in range(2 + ctx.k // 5):
        first, last = fake.person(rng)
        leads["ENG"].append(hire(ctx, first_name=first, last_name=last, department_id=dept_ids["ENG"],
                                 designation="Engineering Manager", role="manager", manager_id=heads["ENG"],
                                 skills=",".join(rng.sample(fake.SKILLS[:20], 4)),
                                 location=rng.choice(fake.CITIES)[0], date_joined="2020-02-03"))
    codes = [c for _, c in fake.DEPARTMENTS]
    weights = [6, 2, 3, 3, 1, 1, 1, 2]
    while (ctx.scalar("SELECT COUNT(*) FROM users") or 0) < n_people:
        code = rng.choices(codes, weights)[0]
        first, last = fake.person(rng)
        role = {"HR": "hr", "FIN": "finance"}.get(code, "employee")
        hire(ctx, first_name=first, last_name=last, department_id=dept_ids[code],
             designation=rng.choice(fake.DESIGNATIONS[code]), role=role, manager_id=rng.choice(leads[code]),
             skills=",".join(sorted(rng.sample(fake.SKILLS, rng.randint(2, 5)))),
             location=rng.choice(fake.CITIES)[0],
             date_joined=f"20{rng.randint(16, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
