from arena.apps.gitlab import app, words
from arena.apps.gitlab.repo import DEVELOPER, MAINTAINER, OWNER, REPORTER, commit, copy_tree
from arena.core import fake

# People of these departments use GitLab (engineering, product, IT); admins everywhere
GITLAB_DEPARTMENTS = ("ENG", "PRD", "ITO")


@app.on("employee.hired")
def provision_account(ctx, user_id: int) -> None:
    """Engineering, Product and IT staff (and admins) get a GitLab account on hire."""
    row = ctx.one("SELECT u.username, u.role, d.code FROM users u LEFT JOIN departments d ON d.id = u.department_id "
                  "WHERE u.id = ?", user_id)
    if row and (row["code"] in GITLAB_DEPARTMENTS or row["role"] == "admin"):
        ctx.insert("gl_users", user_id=user_id, username=row["username"], state="active")


def _date(n: int) -> str:
    return f"2026-0{1 + n % 2}-{1 + n % 28:02d}T{9 + n % 9:02d}:{(7 * n) % 60:02d}:00"


@app.seeder(order=40)
def seed_projects(ctx) -> None:
    rng = ctx.rng
    people = [r["user_id"] for r in ctx.all("SELECT user_id FROM gl_users ORDER BY id")]
    eng = [r["id"] for r in ctx.all("SELECT u.id FROM users u JOIN departments d ON d.id = u.department_id "
                                    "WHERE d.code = 'ENG' AND u.role = 'manager' ORDER BY u.id")]
    n_projects = ctx.k  # ~48 rows per project (15 files per branch pair) + accounts: ~60 rows per k
    n = 0
    for i in range(n_projects):
        path, desc, lang = words.PROJECTS[i % len(words.PROJECTS)]
        if i >= len(words.PROJECTS):
            path = f"{path}-{i // len(words.PROJECTS) + 1}"
        owner = eng[i % len(eng)] if eng else people[0]
        visibility = "internal" if i % 3 else "private"
        pid = ctx.insert("gl_projects", name=path.replace("-", " ").title(), path=path, namespace="acme",
                         path_with_namespace=f"acme/{path}", description=desc, visibility=visibility,
                         default_branch="main", creator_id=owner, created_at="2025-06-02T09:00:00",
                         last_activity_at="2025-06-02T09:00:00")
        members = [owner] + [u for u in rng.sample(people, min(len(people), 4)) if u != owner][:3]
        levels = [OWNER, MAINTAINER, DEVELOPER, rng.choice([DEVELOPER, REPORTER])]
        ctx.db.executemany("INSERT INTO gl_members (project_id, user_id, access_level) VALUES (?, ?, ?)",
                           [(pid, u, lvl) for u, lvl in zip(members, levels)])
        files = words.tree(path, desc, lang)
        n += 1
        commit(ctx, pid, "main", "Initial commit", owner, writes=sorted(files.items()), created_at=_date(n),
               create_branch=True)
        readme = files["README.md"] + f"\n## Owners\n\nMaintained by the {path} team.\n"
        n += 1
        commit(ctx, pid, "main", "Document owners in README", members[1], writes=[("README.md", readme)],
               created_at=_date(n))
        # one feature branch with a change, opened as a merge request
        feature = f"feature/{rng.choice(words.FEATURES)}"
        head = ctx.scalar("SELECT commit_sha FROM gl_branches WHERE project_id = ? AND name = 'main'", pid)
        ctx.insert("gl_branches", project_id=pid, name=feature, commit_sha=head, protected=0)
        copy_tree(ctx, pid, "main", feature)
        doc_path = f"docs/{feature.split('/')[1]}.md"
        n += 1
        commit(ctx, pid, feature, f"Add design notes for {feature.split('/')[1]}", members[2],
               writes=[(doc_path, f"# {feature.split('/')[1]}\n\n{fake.paragraph(rng, 2)}\n")], created_at=_date(n))
        ctx.insert("gl_merge_requests", project_id=pid, iid=1, title=f"Add {feature.split('/')[1].replace('-', ' ')}",
                   description=fake.sentence(rng), source_branch=feature, target_branch="main", state="opened",
                   draft=int(rng.random() < 0.3), author_id=members[2], assignee_id=members[1],
                   created_at=_date(n), updated_at=_date(n))
        sha = ctx.scalar("SELECT commit_sha FROM gl_branches WHERE project_id = ? AND name = ?", pid, feature)
        status = rng.choice(["success", "success", "failed", "running"])
        ctx.insert("gl_pipelines", project_id=pid, ref=feature, sha=sha, status=status, source="merge_request_event",
                   user_id=members[2], created_at=_date(n), started_at=_date(n),
                   finished_at=None if status == "running" else _date(n))
        ctx.insert("gl_pipelines", project_id=pid, ref="main", sha=head, status="success", source="push",
                   user_id=owner, created_at=_date(n - 1), started_at=_date(n - 1), finished_at=_date(n - 1))
        ms = [ctx.insert("gl_milestones", project_id=pid, title=t, state="active", due_date=f"2026-0{3 + j * 3}-30")
              for j, t in enumerate(words.MILESTONES[:2])]
        for iid in range(1, 5):
            n += 1
            closed = rng.random() < 0.3
            iss = ctx.insert("gl_issues", project_id=pid, iid=iid, title=fake.topic(rng).capitalize(),
                             description=fake.paragraph(rng, 2), state="closed" if closed else "opened",
                             labels=",".join(rng.sample(words.LABELS, rng.randint(1, 2))),
                             milestone_id=rng.choice(ms + [None]), author_id=rng.choice(members),
                             created_at=_date(n), updated_at=_date(n), closed_at=_date(n) if closed else None)
            if rng.random() < 0.7:
                ctx.insert("gl_issue_assignees", issue_id=iss, user_id=rng.choice(members))
            if iid % 2:
                ctx.insert("gl_notes", project_id=pid, noteable_type="Issue", noteable_id=iss,
                           body=fake.sentence(rng), author_id=rng.choice(members), created_at=_date(n))
