"""The agent's home directory: notes, scripts, a small analysis project, data exports and logs,
about 35 files per unit of scale (the disk is one person's, so it grows slower than the apps)."""
from arena.apps.filesystem import app
from arena.apps.filesystem.paths import HOME
from arena.core import fake

README = """# Agent workspace

This is the operations assistant's home directory.

- `notes/`     meeting notes and to-do lists
- `scripts/`   maintenance scripts (run them with bash)
- `projects/`  analysis projects
- `data/`      exports from company systems (CSV)
- `logs/`      application logs pulled from servers
"""

BACKUP_SH = """#!/bin/bash
# Archive the project folders into backups/ with today's date.
set -euo pipefail
mkdir -p "$HOME/backups"
tar -czf "$HOME/backups/projects-$(date +%Y%m%d).tar.gz" -C "$HOME" projects
echo "backup written"
"""

CLEANUP_SH = """#!/bin/bash
# Delete log files older than 30 days and report how many were removed.
set -euo pipefail
count=$(find "$HOME/logs" -name '*.log' -mtime +30 | wc -l)
find "$HOME/logs" -name '*.log' -mtime +30 -delete
echo "removed $count old log files"
"""

ANALYZE_PY = """import csv
import sys
from collections import defaultdict

# Sum revenue per region from the quarterly sales export.
totals = defaultdict(float)
with open(sys.argv[1] if len(sys.argv) > 1 else "data/sales_q1.csv") as fh:
    for row in csv.DictReader(fh):
        totals[row["region"]] += float(row["amount"])
for region, amount in sorted(totals.items()):
    print(f"{region}: {amount:.2f}")
"""

BASHRC = "export PS1='agent@acme:\\w$ '\nalias ll='ls -la'\n"
REGIONS = ["EMEA", "NA", "APAC", "LATAM"]
LOG_LEVELS = ["INFO"] * 6 + ["WARN", "ERROR"]


def _csv(rng, users, n: int) -> str:
    lines = ["order_id,customer,region,amount,sales_rep"]
    for i in range(n):
        rep = rng.choice(users)["username"]
        lines.append(f"SO-{1000 + i},{rng.choice(fake.COMPANIES)},{rng.choice(REGIONS)},"
                     f"{rng.randint(200, 20000)}.{rng.randint(0, 99):02d},{rep}")
    return "\n".join(lines) + "\n"


def _log(rng, day: int, n: int, messages: list[str]) -> str:
    out = []
    for i in range(n):
        out.append(f"2026-02-{day:02d}T{8 + i % 10:02d}:{(i * 7) % 60:02d}:{(i * 13) % 60:02d} "
                   f"{rng.choice(LOG_LEVELS)} {rng.choice(messages)}")
    return "\n".join(out) + "\n"


@app.seeder(order=40)
def seed_home(ctx) -> None:
    rng, k, now = ctx.rng, ctx.k, ctx.now
    users = ctx.all("SELECT id, username, full_name FROM users ORDER BY id LIMIT 200")
    rows: list[tuple] = []

    def d(path: str) -> None:
        rows.append((path, None if path == HOME else path.rsplit("/", 1)[0], "", 1, 0, 0o755))

    def f(path: str, text: str, mode: int = 0o644) -> None:
        rows.append((path, path.rsplit("/", 1)[0], text, 0, len(text.encode()), mode))

    for sub in ("", "/notes", "/scripts", "/projects", "/projects/q1-report", "/data", "/data/exports", "/logs",
                "/Downloads"):
        d(HOME + sub)
    f(f"{HOME}/README.md", README)
    f(f"{HOME}/.bashrc", BASHRC)
    f(f"{HOME}/scripts/backup.sh", BACKUP_SH, 0o755)
    f(f"{HOME}/scripts/cleanup_logs.sh", CLEANUP_SH, 0o755)
    f(f"{HOME}/projects/q1-report/analyze.py", ANALYZE_PY)
    f(f"{HOME}/data/sales_q1.csv", _csv(rng, users, 25))
    todo = ["# To do", ""] + [f"- [{'x' if rng.random() < 0.4 else ' '}] {fake.task_title(rng)}" for _ in range(8)]
    f(f"{HOME}/notes/todo.md", "\n".join(todo) + "\n")
    # what grows with the company: standup notes, data exports, server logs
    for i in range(10 * k):
        day = 1 + i % 28
        who = rng.sample(users, min(4, len(users)))
        body = [f"# Standup 2026-02-{day:02d} #{i + 1}", "", "Attendees: " + ", ".join(u["full_name"] for u in who), ""]
        body += [f"- {u['full_name']}: {fake.sentence(rng)}" for u in who]
        f(f"{HOME}/notes/standup-2026-02-{day:02d}-{i + 1:03d}.md", "\n".join(body) + "\n")
    for i in range(12 * k):
        f(f"{HOME}/data/exports/orders_{i + 1:04d}.csv", _csv(rng, users, 8))
    messages = [fake.sentence(rng) for _ in range(200)]  # log lines repeat, as real logs do
    for i in range(12 * k):
        f(f"{HOME}/logs/app-{i + 1:04d}.log", _log(rng, 1 + i % 28, 12, messages))
    ctx.db.executemany("INSERT INTO fs_files (path, parent, content, encoding, is_dir, size, mode, modified_at) "
                       "VALUES (?, ?, ?, 'utf-8', ?, ?, ?, ?)", [(*r, now) for r in rows])
