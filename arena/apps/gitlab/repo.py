"""The repository model shared by tools and seeds: commits write files into a branch's current tree
(gl_files), record which paths changed (gl_commit_changes) and move the branch head."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Iterable

from arena.core.errors import ToolError

# GitLab's access levels; pushing to a protected branch needs MAINTAINER, to others DEVELOPER
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
ACCESS_NAMES = {GUEST: "guest", REPORTER: "reporter", DEVELOPER: "developer", MAINTAINER: "maintainer",
                OWNER: "owner"}

_BAD_PATH = re.compile(r"(^/)|(//)|(^|/)\.\.?(/|$)|[\x00\\]|/$")


def check_path(path: str, what: str = "file_path") -> str:
    """Repository paths are relative, '/'-separated, without '.'/'..' segments (GitLab rejects those)."""
    if not path or _BAD_PATH.search(path):
        raise ToolError("invalid_arguments", f"{what} {path!r} is not a valid repository path "
                        "(relative, no leading '/', no '.' or '..' segments)", field=what)
    return path


def new_sha(ctx, project_id: int, branch: str, parent: str | None, message: str) -> str:
    """Deterministic 40-hex commit id: the same episode history always yields the same shas."""
    n = (ctx.scalar("SELECT MAX(id) FROM gl_commits") or 0) + 1
    return hashlib.sha1(f"{project_id}|{branch}|{parent}|{message}|{n}".encode()).hexdigest()


def commit(ctx, project_id: int, branch: str, message: str, author_id: int,
           writes: Iterable[tuple[str, str]] = (), deletes: Iterable[str] = (),
           created_at: str | None = None, create_branch: bool = False, merge_parent: str | None = None) -> str:
    """Apply file writes/deletes to `branch` as one commit and return its sha.
    `create_branch` starts the branch (first commit of an empty repository)."""
    head = ctx.one("SELECT id, commit_sha FROM gl_branches WHERE project_id = ? AND name = ?", project_id, branch)
    parent = head["commit_sha"] if head else None
    sha = new_sha(ctx, project_id, branch, parent, message)
    when = created_at or ctx.now
    cid = ctx.insert("gl_commits", project_id=project_id, branch=branch, sha=sha, parent_sha=parent,
                     merge_parent_sha=merge_parent, message=message, author_id=author_id, created_at=when)
    writes = list(writes)
    existing = {r["path"] for r in ctx.all(
        "SELECT path FROM gl_files WHERE project_id = ? AND branch = ? AND path IN (SELECT value FROM json_each(?))",
        project_id, branch, json.dumps([w[0] for w in writes]))} if writes and head else set()
    ctx.db.executemany("UPDATE gl_files SET content = ?, last_commit_sha = ? WHERE project_id = ? AND branch = ? "
                       "AND path = ?", [(c, sha, project_id, branch, p) for p, c in writes if p in existing])
    ctx.db.executemany("INSERT INTO gl_files (project_id, branch, path, content, last_commit_sha) "
                       "VALUES (?, ?, ?, ?, ?)", [(project_id, branch, p, c, sha) for p, c in writes if p not in existing])
    changes = [(cid, p, "update" if p in existing else "create") for p, _ in writes]
    for path in deletes:
        ctx.db.execute("DELETE FROM gl_files WHERE project_id = ? AND branch = ? AND path = ?",
                       (project_id, branch, path))
        changes.append((cid, path, "delete"))
    ctx.db.executemany("INSERT INTO gl_commit_changes (commit_id, path, action) VALUES (?, ?, ?)", changes)
    if head:
        ctx.update("gl_branches", head["id"], commit_sha=sha)
    elif create_branch:
        is_default = ctx.scalar("SELECT default_branch FROM gl_projects WHERE id = ?", project_id) == branch
        ctx.insert("gl_branches", project_id=project_id, name=branch, commit_sha=sha, protected=int(is_default))
    else:
        raise ToolError("not_found", f"branch {branch!r} not found", entity="branch", key=branch)
    ctx.update("gl_projects", project_id, last_activity_at=when)
    return sha


def copy_tree(ctx, project_id: int, source: str, target: str, to_project: int | None = None) -> None:
    """A new branch `target` whose tree equals `source`'s (one INSERT ... SELECT, no row loop)."""
    dest = to_project or project_id
    ctx.db.execute("INSERT INTO gl_files (project_id, branch, path, content, last_commit_sha) "
                   "SELECT ?, ?, path, content, last_commit_sha FROM gl_files WHERE project_id = ? AND branch = ?",
                   (dest, target, project_id, source))


def history(ctx, project_id: int, head: str) -> list[str]:
    """Every commit reachable from `head` (both parents of merge commits), one recursive query."""
    rows = ctx.all(
        "WITH RECURSIVE h(sha) AS (SELECT ? UNION SELECT p.value FROM h JOIN gl_commits c "
        "ON c.project_id = ? AND c.sha = h.sha JOIN json_each(json_array(c.parent_sha, c.merge_parent_sha)) p "
        "WHERE p.value IS NOT NULL) SELECT sha FROM h LIMIT 100000", head, project_id)
    return [r["sha"] for r in rows]


def _changed_paths(ctx, project_id: int, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    rows = ctx.all("SELECT DISTINCT x.path FROM gl_commits c JOIN gl_commit_changes x ON x.commit_id = c.id "
                   "WHERE c.project_id = ? AND c.sha IN (SELECT value FROM json_each(?))", project_id, json.dumps(shas))
    return {r["path"] for r in rows}


def merge_plan(ctx, project_id: int, source: str, target: str) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """What merging `source` into `target` changes: (writes, deletes, conflicting paths).
    Only paths touched by commits that are on the source side and not yet in the target are applied;
    a path also changed on the target side since the branches split is a conflict (unless equal)."""
    heads = {r["name"]: r["commit_sha"] for r in ctx.all(
        "SELECT name, commit_sha FROM gl_branches WHERE project_id = ? AND name IN (?, ?)", project_id, source, target)}
    src_hist, tgt_hist = history(ctx, project_id, heads[source]), history(ctx, project_id, heads[target])
    tgt_set, src_set = set(tgt_hist), set(src_hist)
    src_paths = _changed_paths(ctx, project_id, [s for s in src_hist if s not in tgt_set])
    tgt_paths = _changed_paths(ctx, project_id, [s for s in tgt_hist if s not in src_set])
    if not src_paths:
        return [], [], []
    rows = ctx.all("SELECT branch, path, content FROM gl_files WHERE project_id = ? AND branch IN (?, ?) "
                   "AND path IN (SELECT value FROM json_each(?))", project_id, source, target,
                   json.dumps(sorted(src_paths)))
    src_files = {r["path"]: r["content"] for r in rows if r["branch"] == source}
    tgt_files = {r["path"]: r["content"] for r in rows if r["branch"] == target}
    writes, deletes, conflicts = [], [], []
    for path in sorted(src_paths):
        new, old = src_files.get(path), tgt_files.get(path)
        if new == old:
            continue
        if path in tgt_paths:
            conflicts.append(path)
        elif new is not None:
            writes.append((path, new))
        elif old is not None:
            deletes.append(path)
    return writes, deletes, conflicts
