"""Storage layout: "/" with "/Users/<username>" homes (made on hire), one group folder per
department with meeting notes and a budget, "/Shared" company documents, and — from the HR app's
open positions — "/HR/Job Descriptions/<job_opening_id> <job_title>.md"."""
import posixpath

from arena.apps.owncloud import app, store, words
from arena.core import fake

FOUNDED = "2019-01-01T09:00:00"


def _add_file(ctx, path: str, content: str, owner_id: int, modified_at: str, modified_by: int | None = None) -> int:
    return ctx.insert("oc_files", path=path, parent=posixpath.dirname(path), name=posixpath.basename(path), is_folder=0,
                      content=content, encoding="utf-8", size=len(content.encode()), mimetype=store.mimetype(path, False),
                      etag=store.etag(path, content, modified_at), owner_id=owner_id, department_id=None,
                      modified_at=modified_at, modified_by=modified_by or owner_id)


def _add_folder(ctx, path: str, owner_id: int | None, department_id: int | None = None) -> int:
    return ctx.insert("oc_files", path=path, parent=store.parent_of(path), name=posixpath.basename(path) or "/",
                      is_folder=1, content="", encoding="utf-8", size=0, mimetype=store.mimetype(path, True),
                      etag=store.etag(path, "", FOUNDED), owner_id=owner_id, department_id=department_id,
                      modified_at=FOUNDED, modified_by=owner_id)


@app.seeder(order=-1)  # before the company: homes are made as people are hired
def seed_root(ctx) -> None:
    _add_folder(ctx, "/", None)
    _add_folder(ctx, "/Users", None)


@app.on("employee.hired")
def provision_account(ctx, user_id: int) -> None:
    """Every employee gets an ownCloud account with a home folder and a quota."""
    user = ctx.get("users", user_id)
    home = f"/Users/{user['username']}"
    quota = words.MANAGER_QUOTA if user["role"] in ("manager", "admin") else words.DEFAULT_QUOTA
    ctx.insert("oc_accounts", user_id=user_id, username=user["username"], quota_bytes=quota, home_path=home)
    _add_folder(ctx, home, user_id)


def _budget(rng, dept: str) -> str:
    lines = ["line_item,q1_eur,q2_eur,q3_eur,q4_eur,owner"]
    for item in words.BUDGET_LINES:
        base = rng.randint(5, 120) * 1000
        lines.append(f"{item},{base},{base + rng.randint(-5, 10) * 500},{base + rng.randint(-5, 10) * 500},"
                     f"{base + rng.randint(-5, 15) * 500},{dept}")
    return "\n".join(lines) + "\n"


@app.seeder(order=55)
def seed_storage(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    admin = 1
    depts = ctx.all("SELECT id, name, head_user_id FROM departments ORDER BY id")
    members = {}
    for u in ctx.all("SELECT id, username, full_name, department_id FROM users ORDER BY id"):
        members.setdefault(u["department_id"], []).append(u)
    _add_folder(ctx, "/Shared", admin)
    _add_folder(ctx, "/Shared/Company Policies", admin)
    for name, text in words.COMPANY_DOCS.items():
        _add_file(ctx, f"/Shared/Company Policies/{name}", text, admin, "2026-01-05T10:00:00")
    versioned: list[tuple[int, str, int]] = []
    for d in depts:
        folder = "/" + words.FOLDER_NAMES.get(d["name"], d["name"])
        head = d["head_user_id"] or admin
        team = members.get(d["id"], []) or [{"id": head, "full_name": "", "username": ""}]
        _add_folder(ctx, folder, head, department_id=d["id"])
        _add_folder(ctx, f"{folder}/Meeting Notes", head)
        _add_folder(ctx, f"{folder}/Budgets", head)
        fid = _add_file(ctx, f"{folder}/Budgets/Budget 2026.csv", _budget(rng, d["name"]), head, "2026-01-15T12:00:00")
        versioned.append((fid, _budget(rng, d["name"]), head))
        for i in range(2 * k):
            day = 1 + (i * 3) % 28
            topic = words.MEETING_TOPICS[i % len(words.MEETING_TOPICS)]
            present = rng.sample(team, min(4, len(team)))
            text = (f"# {d['name']} {topic} - 2026-02-{day:02d}\n\nAttendees: "
                    + ", ".join(p["full_name"] for p in present) + "\n\n## Notes\n"
                    + "\n".join(f"- {fake.sentence(rng)}" for _ in range(3))
                    + "\n\n## Action items\n" + "\n".join(f"- [ ] {p['username']}: {fake.task_title(rng)}" for p in present[:2])
                    + "\n")
            _add_file(ctx, f"{folder}/Meeting Notes/2026-02-{day:02d} {topic} {i + 1}.md", text, head,
                      f"2026-02-{day:02d}T16:00:00", rng.choice(present)["id"])
    for fid, old, head in versioned:  # the budgets were revised once: the first draft is version 1
        ctx.insert("oc_versions", file_id=fid, version=1, content=old, encoding="utf-8", size=len(old.encode()),
                   modified_at="2026-01-08T09:00:00", modified_by=head)
    # personal documents and shares between colleagues
    people = ctx.all("SELECT id, username, full_name FROM users ORDER BY id")
    for i in range(3 * k):
        u = rng.choice(people)
        other = rng.choice(people)
        path = f"/Users/{u['username']}/Notes {i + 1}.md"
        fid = _add_file(ctx, path, f"# Notes\n\n{fake.paragraph(rng, 3)}\n", u["id"], "2026-02-20T11:00:00")
        if other["id"] != u["id"]:
            ctx.insert("oc_shares", file_id=fid, share_type="user", share_with_id=other["id"],
                       permissions=rng.choice(["read", "edit"]), token=None, expiration=None, created_by=u["id"],
                       created_at="2026-02-20T11:05:00")


@app.seeder(order=60)
def seed_job_descriptions(ctx) -> None:
    """One job description per HR job opening, where recruiters and hiring managers find it."""
    hr = ctx.one("SELECT id, head_user_id FROM departments WHERE code = 'HR'")
    owner = (hr and hr["head_user_id"]) or 1
    if store.get(ctx, "/HR") is None:
        _add_folder(ctx, "/HR", owner, department_id=hr["id"] if hr else None)
    _add_folder(ctx, "/HR/Job Descriptions", owner)
    rows = ctx.all("SELECT o.*, d.name AS department, u.full_name AS manager FROM hr_job_openings o "
                   "LEFT JOIN departments d ON d.id = o.department_id LEFT JOIN users u ON u.id = o.hiring_manager_id "
                   "ORDER BY o.id")
    for o in rows:
        skills = [s.strip() for s in o["required_skills"].split(",") if s.strip()]
        title = o["job_title"].replace("/", "-")
        text = (f"# {o['job_title']}\n\nJob opening: {o['job_opening_id']}\nDepartment: {o['department']}\n"
                f"Designation: {o['designation']}\nHiring manager: {o['manager']}\nStatus: {o['status']}\n"
                f"Positions: {o['no_of_positions']}\n\n## About the role\n{o['description']}\n\n"
                f"## Required skills\n" + "\n".join(f"- {s}" for s in skills) + "\n\n## Nice to have\n"
                "- Experience in a fast-growing company\n- Clear written communication\n")
        _add_file(ctx, f"/HR/Job Descriptions/{o['job_opening_id']} {title}.md", text, owner, f"{o['posted_on']}T09:00:00")
