"""The repository model shared by tools and seeds: commits write files into a branch's current tree
(gl_files), record which paths changed (gl_commit_changes) and move the branch head."""
from __future__ import annotations

import hashlib
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
           created_at: str | None = None, create_branch: bool = False) -> str:
    """Apply file writes/deletes to `branch` as one commit and return its sha.
    `create_branch` starts the branch (first commit of an empty repository)."""
    head = ctx.one("SELECT id, commit_sha FROM gl_branches WHERE project_id = ? AND name = ?", project_id, branch)
    parent = head["commit_sha"] if head else None
    sha = new_sha(ctx, project_id, branch, parent, message)
    when = created_at or ctx.now
    cid = ctx.insert("gl_commits", project_id=project_id, branch=branch, sha=sha, parent_sha=parent,
                     message=message, author_id=author_id, created_at=when)
    changes = []
    for path, content in writes:
        cur = ctx.db.execute("UPDATE gl_files SET content = ?, last_commit_sha = ? WHERE project_id = ? "
                             "AND branch = ? AND path = ?", (content, sha, project_id, branch, path))
        if cur.rowcount:
            changes.append((cid, path, "update"))
        else:
            ctx.insert("gl_files", project_id=project_id, branch=branch, path=path, content=content,
                       last_commit_sha=sha)
            changes.append((cid, path, "create"))
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
