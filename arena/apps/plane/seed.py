"""Seed Plane: department-owned projects with default states, labels, issue types, three sprints
(past, current, upcoming) and modules; issues spread over the workflow with assignees, labels,
comments and worklogs. Issues and their children go in with executemany: large scale < 1 s."""
from __future__ import annotations

from arena.apps.plane import app, words
from arena.apps.plane.project_tools import setup_project
from arena.apps.plane.schema import MEMBER
from arena.core import fake

# (start, end) of the seeded sprints around the world's frozen date (2026-03-02)
SPRINTS = [("Sprint 1", "2026-02-09", "2026-02-22"), ("Sprint 2", "2026-02-23", "2026-03-08"),
           ("Sprint 3", "2026-03-09", "2026-03-22")]
# state weights per sprint: past sprints are mostly done, future ones mostly planned
GROUP_WEIGHTS = {0: [0, 1, 1, 12, 1], 1: [0, 3, 5, 3, 0], 2: [1, 6, 1, 0, 0], None: [6, 3, 2, 2, 1]}
GROUPS = ["backlog", "unstarted", "started", "completed", "cancelled"]
PRIORITY_W = (["urgent", "high", "medium", "low", "none"], [1, 3, 5, 3, 2])


@app.seeder(order=45)
def seed_plane(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    depts = {d["code"]: d for d in ctx.all("SELECT * FROM departments ORDER BY id")}
    people: dict[int, list[int]] = {}
    for u in ctx.all("SELECT id, department_id FROM users WHERE status = 'active' ORDER BY id"):
        people.setdefault(u["department_id"], []).append(u["id"])
    projects = []
    for i in range(3 + k // 4):
        name, ident, code = words.PROJECTS[i % len(words.PROJECTS)]
        if i >= len(words.PROJECTS):
            n = i // len(words.PROJECTS) + 1
            name, ident = f"{name} {n}", f"{ident}{n}"
        dept = depts[code]
        lead = dept["head_user_id"] or 1
        pid = ctx.insert("pl_projects", name=name, identifier=ident, description=f"{name} ({dept['name']})",
                         network=0 if i % 7 == 6 else 2, project_lead_id=lead, created_by=lead,
                         created_at=f"2025-{1 + i % 12:02d}-1{i % 10}T10:00:00")
        setup_project(ctx, pid, lead)
        pool = [u for u in people.get(dept["id"], []) if u != lead]
        members = rng.sample(pool, min(len(pool), rng.randint(3, 7)))
        ctx.db.executemany("INSERT INTO pl_project_members (project_id, user_id, role) VALUES (?, ?, ?)",
                           [(pid, u, MEMBER) for u in members])
        states = {r["state_group"]: r["id"] for r in ctx.all("SELECT id, state_group FROM pl_states WHERE project_id = ?", pid)}
        labels = [ctx.insert("pl_labels", project_id=pid, name=n, color=c) for n, c in rng.sample(words.LABELS, 4)]
        types = [ctx.scalar("SELECT id FROM pl_issue_types WHERE project_id = ?", pid)]
        types += [ctx.insert("pl_issue_types", project_id=pid, name=n, description=d) for n, d in words.ISSUE_TYPES]
        cycles = [ctx.insert("pl_cycles", project_id=pid, name=n, start_date=s, end_date=e, owned_by_id=lead,
                             created_at="2026-02-02T09:00:00") for n, s, e in SPRINTS]
        modules = [ctx.insert("pl_modules", project_id=pid, name=m, lead_id=lead, created_at="2026-01-12T09:00:00",
                              status=rng.choice(["planned", "in-progress", "in-progress", "paused"]))
                   for m in rng.sample(words.MODULES, 2)]
        projects.append(dict(id=pid, members=[lead] + members, states=states, labels=labels, types=types,
                             cycles=cycles, modules=modules, seq=0))
    _seed_issues(ctx, rng, projects, 12 * k + 8)


def _seed_issues(ctx, rng, projects: list[dict], n_issues: int) -> None:
    next_id = (ctx.scalar("SELECT MAX(id) FROM pl_issues") or 0) + 1
    issues, assignees, labels, cycles, modules, comments, worklogs = [], [], [], [], [], [], []
    for n in range(n_issues):
        p = projects[n % len(projects)]
        p["seq"] += 1
        sprint = rng.choice([0, 1, 2, None, None])
        group = rng.choices(GROUPS, GROUP_WEIGHTS[sprint])[0]
        created = f"2026-0{1 + n % 2}-{1 + n % 28:02d}T{9 + n % 8:02d}:00:00"
        title = fake.task_title(rng) if rng.random() < 0.6 else fake.topic(rng).capitalize()
        itype = p["types"][1] if "times out" in title or "errors" in title else rng.choice(p["types"])
        issues.append((next_id, p["id"], p["seq"], title, f"<p>{fake.paragraph(rng, 2)}</p>", p["states"][group],
                       rng.choices(*PRIORITY_W)[0], itype, created, created,
                       "2026-02-27T17:00:00" if group == "completed" else None,
                       rng.choice([None, 1, 2, 3, 5, 8]), rng.choice(p["members"])))
        # min(): a small project may have fewer members/labels than the draw asks for
        for uid in rng.sample(p["members"], min(len(p["members"]), rng.choice([0, 1, 1, 1, 2]))):
            assignees.append((next_id, uid))
        for lid in rng.sample(p["labels"], min(len(p["labels"]), rng.choice([0, 1, 1, 2]))):
            labels.append((next_id, lid))
        if sprint is not None:
            cycles.append((p["cycles"][sprint], next_id))
        if rng.random() < 0.3:
            modules.append((rng.choice(p["modules"]), next_id))
        for c in range(rng.choice([0, 0, 1, 2])):
            comments.append((next_id, rng.choice(words.COMMENTS), rng.choice(p["members"]), created))
        if group in ("started", "completed") and rng.random() < 0.6:
            worklogs.append((next_id, rng.choice(words.WORKLOG_NOTES), rng.choice([30, 45, 60, 90, 120, 180, 240]),
                             rng.choice(p["members"]), created))
        next_id += 1
    db = ctx.db
    db.executemany("INSERT INTO pl_issues (id, project_id, sequence_id, name, description_html, state_id, priority, "
                   "type_id, created_at, updated_at, completed_at, estimate_point, created_by) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", issues)
    db.executemany("INSERT INTO pl_issue_assignees (issue_id, user_id) VALUES (?, ?)", assignees)
    db.executemany("INSERT INTO pl_issue_labels (issue_id, label_id) VALUES (?, ?)", labels)
    db.executemany("INSERT INTO pl_cycle_issues (cycle_id, issue_id) VALUES (?, ?)", cycles)
    db.executemany("INSERT INTO pl_module_issues (module_id, issue_id) VALUES (?, ?)", modules)
    db.executemany("INSERT INTO pl_comments (issue_id, comment_html, actor_id, created_at) VALUES (?,?,?,?)", comments)
    db.executemany("INSERT INTO pl_worklogs (issue_id, description, duration, logged_by_id, created_at) "
                   "VALUES (?,?,?,?,?)", worklogs)
    db.executemany("UPDATE pl_projects SET issue_sequence = ? WHERE id = ?", [(p["seq"], p["id"]) for p in projects])
