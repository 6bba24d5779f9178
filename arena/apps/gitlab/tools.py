import json
from typing import Annotated, Literal

from pydantic import Field

from arena.apps.gitlab import app
from arena.apps.gitlab.repo import (ACCESS_NAMES, DEVELOPER, MAINTAINER, OWNER, REPORTER, check_path, commit,
                                    copy_tree, merge_plan)
from arena.core import fake
from arena.core.errors import ToolError, not_found

# Allowed state changes (anything else is `invalid_transition`).
ISSUE_TRANSITIONS = {"opened": {"closed"}, "closed": {"opened"}}
MR_TRANSITIONS = {"opened": {"merged", "closed"}, "closed": {"opened"}, "merged": set()}
# created -> running -> success|failed|canceled; a retry restarts a failed or canceled pipeline
PIPELINE_TRANSITIONS = {"created": {"running", "canceled"}, "running": {"success", "failed", "canceled"},
                        "success": set(), "failed": {"running"}, "canceled": {"running"}}
WEB = "https://gitlab.acme-corp.example"
GROUP_NAMESPACE = "acme"  # the company group; personal namespaces are usernames

ProjectId = Annotated[str, Field(description="Project id (e.g. '3') or URL-encoded / plain path with namespace "
                                             "(e.g. 'acme/billing-service')")]
Page = Annotated[int, Field(description="Page number (1-based)", ge=1)]
PerPage = Annotated[int, Field(description="Results per page (max 100)", ge=1, le=100)]
IssueIid = Annotated[int, Field(description="The issue's project-local number (iid, the #N in GitLab)", ge=1)]
MrIid = Annotated[int, Field(description="The merge request's project-local number (iid, the !N in GitLab)", ge=1)]
BranchName = Annotated[str, Field(description="Branch name (letters, digits, '.', '_', '-', '/')", min_length=1,
                                  max_length=200, pattern=r"^[A-Za-z0-9._/-]+$")]


# -- resolution and permissions ----------------------------------------------------------

def _account(ctx) -> dict:
    acc = ctx.one("SELECT * FROM gl_users WHERE user_id = ?", ctx.actor["id"])
    if acc is None or acc["state"] != "active" or ctx.actor["status"] != "active":
        raise ToolError("permission_denied", f"{ctx.actor['username']} has no active GitLab account")
    return acc


def _access(ctx, project: dict) -> int:
    if ctx.actor["role"] == "admin":
        return OWNER
    return ctx.scalar("SELECT access_level FROM gl_members WHERE project_id = ? AND user_id = ?",
                      project["id"], ctx.actor["id"]) or 0


def _project(ctx, project_id: str, need: int = 0, action: str = "read this project") -> dict:
    """The project (by id or path), checked to be visible to the actor and to give `need` access."""
    key = project_id.strip().replace("%2F", "/").replace("%2f", "/")
    if key.isdigit():
        row = ctx.one("SELECT * FROM gl_projects WHERE id = ?", int(key))
    else:
        row = ctx.one("SELECT * FROM gl_projects WHERE path_with_namespace = ?", key)
    if row is None:
        raise not_found("project", project_id)
    _account(ctx)
    level = _access(ctx, row)
    if row["visibility"] == "private" and level == 0:
        raise ToolError("permission_denied", f"project {row['path_with_namespace']} is private and "
                        f"{ctx.actor['username']} is not a member")
    if level < need:
        raise ToolError("permission_denied", f"{ctx.actor['username']} ({ACCESS_NAMES.get(level, 'no access')}) "
                        f"may not {action} in {row['path_with_namespace']}; needs {ACCESS_NAMES[need]} access",
                        required_access_level=need)
    return row


def _branch(ctx, project: dict, name: str) -> dict:
    row = ctx.one("SELECT * FROM gl_branches WHERE project_id = ? AND name = ?", project["id"], name)
    if row is None:
        raise not_found("branch", name)
    return row


def _ref_branch(ctx, project: dict, ref: str | None) -> str:
    """A ref is a branch name or a branch head's sha; files are kept per branch head."""
    ref = ref or project["default_branch"]
    if ctx.one("SELECT 1 FROM gl_branches WHERE project_id = ? AND name = ?", project["id"], ref):
        return ref
    row = ctx.one("SELECT name FROM gl_branches WHERE project_id = ? AND substr(commit_sha, 1, ?) = ? LIMIT 1",
                  project["id"], len(ref), ref.lower()) if len(ref) >= 7 else None
    if row is None:
        raise not_found("ref", ref)
    return row["name"]


def _require_push(ctx, project: dict, branch: str) -> None:
    """Developers push to unprotected branches; protected ones (the default branch) need maintainers."""
    row = ctx.one("SELECT protected FROM gl_branches WHERE project_id = ? AND name = ?", project["id"], branch)
    need = MAINTAINER if (row is None and branch == project["default_branch"]) or (row and row["protected"]) \
        else DEVELOPER
    level = _access(ctx, project)
    if level < need:
        raise ToolError("permission_denied", f"{ctx.actor['username']} ({ACCESS_NAMES.get(level, 'no access')}) "
                        f"may not push to {'protected ' if need == MAINTAINER else ''}branch {branch!r} of "
                        f"{project['path_with_namespace']}; needs {ACCESS_NAMES[need]} access",
                        required_access_level=need)


def _gl_user(ctx, ident) -> dict:
    """A GitLab user (joined with the person) by company user id or username."""
    key = str(ident).lstrip("@")
    if key.isdigit():
        row = ctx.one("SELECT g.*, u.full_name, u.email, u.status FROM gl_users g JOIN users u ON u.id = g.user_id "
                      "WHERE g.user_id = ?", int(key))
    else:
        row = ctx.one("SELECT g.*, u.full_name, u.email, u.status FROM gl_users g JOIN users u ON u.id = g.user_id "
                      "WHERE g.username = ?", key)
    if row is None:
        raise not_found("GitLab user", ident)
    if row["state"] != "active" or row["status"] != "active":
        raise ToolError("rule_violation", f"GitLab user {row['username']} is blocked or has left the company",
                        user=row["username"])
    return row


def _username(ctx, user_id: int | None) -> str | None:
    return None if user_id is None else ctx.scalar("SELECT username FROM users WHERE id = ?", user_id)


def _page(page: int, per_page: int) -> tuple[int, int]:
    return per_page, (page - 1) * per_page


def _project_out(p: dict) -> dict:
    return {"id": p["id"], "name": p["name"], "path_with_namespace": p["path_with_namespace"],
            "description": p["description"], "visibility": p["visibility"], "default_branch": p["default_branch"],
            "forked_from_id": p["forked_from_id"], "last_activity_at": p["last_activity_at"],
            "web_url": f"{WEB}/{p['path_with_namespace']}"}


_VISIBLE = ("(p.visibility IN ('public', 'internal') OR ? = 'admin' OR EXISTS "
            "(SELECT 1 FROM gl_members m WHERE m.project_id = p.id AND m.user_id = ?))")


# -- projects ----------------------------------------------------------------------------

@app.tool(read_only=True)
def search_repositories(ctx, search: Annotated[str, Field(description="Text to find in project names, paths or descriptions")],
                        page: Page = 1, per_page: PerPage = 20) -> dict:
    """Search the GitLab projects you can see by name, path or description."""
    _account(ctx)
    limit, offset = _page(page, per_page)
    like = f"%{search}%"
    rows = ctx.all(f"SELECT p.* FROM gl_projects p WHERE (p.name LIKE ? OR p.path_with_namespace LIKE ? OR "
                   f"p.description LIKE ?) AND {_VISIBLE} ORDER BY p.id LIMIT ? OFFSET ?",
                   like, like, like, ctx.actor["role"], ctx.actor["id"], limit, offset)
    return {"count": len(rows), "page": page, "items": [_project_out(r) for r in rows]}


@app.tool(read_only=True)
def list_projects(ctx, search: Annotated[str | None, Field(description="Only projects whose name or path contains this")] = None,
                  membership: Annotated[bool, Field(description="Only projects you are a member of")] = False,
                  visibility: Annotated[Literal["private", "internal", "public"] | None, Field(description="Only projects with this visibility")] = None,
                  page: Page = 1, per_page: PerPage = 20) -> dict:
    """List the projects you can see, newest activity first."""
    _account(ctx)
    sql = f"SELECT p.* FROM gl_projects p WHERE {_VISIBLE}"
    args: list = [ctx.actor["role"], ctx.actor["id"]]
    if search:
        sql += " AND (p.name LIKE ? OR p.path_with_namespace LIKE ?)"
        args += [f"%{search}%", f"%{search}%"]
    if membership:
        sql += " AND EXISTS (SELECT 1 FROM gl_members m WHERE m.project_id = p.id AND m.user_id = ?)"
        args.append(ctx.actor["id"])
    if visibility:
        sql += " AND p.visibility = ?"
        args.append(visibility)
    limit, offset = _page(page, per_page)
    rows = ctx.all(sql + " ORDER BY p.last_activity_at DESC, p.id LIMIT ? OFFSET ?", *args, limit, offset)
    return {"count": len(rows), "page": page, "items": [_project_out(r) for r in rows]}


@app.tool(read_only=True)
def get_project(ctx, project_id: ProjectId) -> dict:
    """Details of one project: visibility, default branch, branches, open issue and merge request counts."""
    p = _project(ctx, project_id)
    out = _project_out(p)
    out["branches"] = [r["name"] for r in ctx.all("SELECT name FROM gl_branches WHERE project_id = ? ORDER BY name "
                                                  "LIMIT 100", p["id"])]
    out["open_issues_count"] = ctx.scalar("SELECT COUNT(*) FROM gl_issues WHERE project_id = ? AND state = 'opened'",
                                          p["id"])
    out["open_merge_requests_count"] = ctx.scalar(
        "SELECT COUNT(*) FROM gl_merge_requests WHERE project_id = ? AND state = 'opened'", p["id"])
    out["your_access_level"] = _access(ctx, p)
    return out


@app.tool(returns={"id": "integer", "path_with_namespace": "string", "web_url": "string"})
def create_repository(ctx, name: Annotated[str, Field(description="Project name (letters, digits, spaces, '-', '_', '.')", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")],
                      description: Annotated[str | None, Field(description="Project description")] = None,
                      visibility: Annotated[Literal["private", "internal", "public"] | None, Field(description="private (members only), internal (all staff) or public; default private")] = None,
                      initialize_with_readme: Annotated[bool | None, Field(description="Create the main branch with a README.md")] = None,
                      namespace: Annotated[str | None, Field(description="'acme' (the company group, needs a manager or admin) or your username (default)")] = None) -> dict:
    """Create a new project (repository); you become its owner."""
    acc = _account(ctx)
    ns = namespace or acc["username"]
    if ns == GROUP_NAMESPACE:
        ctx.require_role("manager", action=f"create projects in the {GROUP_NAMESPACE} group")
    elif ns != acc["username"]:
        raise ToolError("permission_denied", f"you may create projects only in {GROUP_NAMESPACE!r} or your own "
                        f"namespace {acc['username']!r}, not {ns!r}")
    path = fake.slug(name)
    full = f"{ns}/{path}"
    if ctx.one("SELECT 1 FROM gl_projects WHERE path_with_namespace = ?", full):
        raise ToolError("conflict", f"project {full} already exists", path_with_namespace=full)
    pid = ctx.insert("gl_projects", name=name, path=path, namespace=ns, path_with_namespace=full,
                     description=description or "", visibility=visibility or "private", default_branch="main",
                     creator_id=ctx.actor["id"], created_at=ctx.now, last_activity_at=ctx.now)
    ctx.insert("gl_members", project_id=pid, user_id=ctx.actor["id"], access_level=OWNER)
    if initialize_with_readme:
        commit(ctx, pid, "main", "Initial commit", ctx.actor["id"],
               writes=[("README.md", f"# {name}\n\n{description or ''}\n")], create_branch=True)
    return {"id": pid, "path_with_namespace": full, "web_url": f"{WEB}/{full}"}


@app.tool(returns={"id": "integer", "path_with_namespace": "string", "forked_from_id": "integer"})
def fork_repository(ctx, project_id: ProjectId,
                    namespace: Annotated[str | None, Field(description="Namespace to fork into; default your username")] = None) -> dict:
    """Fork a project into your namespace: all branches, files and commits are copied."""
    src = _project(ctx, project_id, REPORTER, "fork")
    acc = _account(ctx)
    ns = namespace or acc["username"]
    if ns != acc["username"] and not (ns == GROUP_NAMESPACE and ctx.actor["role"] in ("manager", "admin")):
        raise ToolError("permission_denied", f"you may not create projects in namespace {ns!r}")
    full = f"{ns}/{src['path']}"
    if ctx.one("SELECT 1 FROM gl_projects WHERE path_with_namespace = ?", full):
        raise ToolError("conflict", f"project {full} already exists", path_with_namespace=full)
    pid = ctx.insert("gl_projects", name=src["name"], path=src["path"], namespace=ns, path_with_namespace=full,
                     description=src["description"], visibility=src["visibility"],
                     default_branch=src["default_branch"], creator_id=ctx.actor["id"], forked_from_id=src["id"],
                     created_at=ctx.now, last_activity_at=ctx.now)
    ctx.insert("gl_members", project_id=pid, user_id=ctx.actor["id"], access_level=OWNER)
    db = ctx.db
    db.execute("INSERT INTO gl_branches (project_id, name, commit_sha, protected) "
               "SELECT ?, name, commit_sha, protected FROM gl_branches WHERE project_id = ?", (pid, src["id"]))
    db.execute("INSERT INTO gl_commits (project_id, branch, sha, parent_sha, merge_parent_sha, message, author_id, "
               "created_at) SELECT ?, branch, sha, parent_sha, merge_parent_sha, message, author_id, created_at FROM gl_commits "
               "WHERE project_id = ?", (pid, src["id"]))
    db.execute("INSERT INTO gl_commit_changes (commit_id, path, action) SELECT n.id, x.path, x.action "
               "FROM gl_commits o JOIN gl_commit_changes x ON x.commit_id = o.id "
               "JOIN gl_commits n ON n.project_id = ? AND n.sha = o.sha WHERE o.project_id = ?", (pid, src["id"]))
    db.execute("INSERT INTO gl_files (project_id, branch, path, content, last_commit_sha) "
               "SELECT ?, branch, path, content, last_commit_sha FROM gl_files WHERE project_id = ?", (pid, src["id"]))
    return {"id": pid, "path_with_namespace": full, "forked_from_id": src["id"]}


@app.tool(read_only=True)
def list_project_members(ctx, project_id: ProjectId,
                         query: Annotated[str | None, Field(description="Only members whose username or name contains this")] = None) -> dict:
    """Members of a project with their access level (10 guest ... 50 owner)."""
    p = _project(ctx, project_id)
    sql = ("SELECT u.id, g.username, u.full_name AS name, m.access_level FROM gl_members m "
           "JOIN users u ON u.id = m.user_id JOIN gl_users g ON g.user_id = u.id WHERE m.project_id = ?")
    args: list = [p["id"]]
    if query:
        sql += " AND (g.username LIKE ? OR u.full_name LIKE ?)"
        args += [f"%{query}%", f"%{query}%"]
    rows = ctx.all(sql + " ORDER BY m.access_level DESC, g.username LIMIT 200", *args)
    return {"project": p["path_with_namespace"],
            "members": [{**r, "role": ACCESS_NAMES[r["access_level"]]} for r in rows]}


@app.tool(returns={"id": "integer", "username": "string", "access_level": "integer"})
def add_project_member(ctx, project_id: ProjectId,
                       user_id: Annotated[str, Field(description="The user's id or username")],
                       access_level: Annotated[Literal[10, 20, 30, 40, 50], Field(description="10 guest, 20 reporter, 30 developer, 40 maintainer, 50 owner")]) -> dict:
    """Add a user to a project (needs maintainer access; only owners may grant owner)."""
    p = _project(ctx, project_id, MAINTAINER, "add members")
    if access_level > _access(ctx, p):
        raise ToolError("permission_denied", f"you cannot grant {ACCESS_NAMES[access_level]} access, which is "
                        "above your own")
    user = _gl_user(ctx, user_id)
    if ctx.one("SELECT 1 FROM gl_members WHERE project_id = ? AND user_id = ?", p["id"], user["user_id"]):
        raise ToolError("conflict", f"{user['username']} is already a member of {p['path_with_namespace']}")
    ctx.insert("gl_members", project_id=p["id"], user_id=user["user_id"], access_level=access_level)
    ctx.notify(user["user_id"], "gitlab", f"You were added to {p['path_with_namespace']} as "
               f"{ACCESS_NAMES[access_level]}", ref=f"gitlab:project:{p['id']}")
    return {"id": user["user_id"], "username": user["username"], "access_level": access_level}


# -- branches, files, commits --------------------------------------------------------------

@app.tool(read_only=True)
def list_branches(ctx, project_id: ProjectId,
                  search: Annotated[str | None, Field(description="Only branches whose name contains this")] = None) -> dict:
    """Branches of a project with their head commit."""
    p = _project(ctx, project_id)
    sql = "SELECT name, commit_sha, protected FROM gl_branches WHERE project_id = ?"
    args: list = [p["id"]]
    if search:
        sql += " AND name LIKE ?"
        args.append(f"%{search}%")
    rows = ctx.all(sql + " ORDER BY name LIMIT 200", *args)
    return {"branches": [{"name": r["name"], "commit": r["commit_sha"], "protected": bool(r["protected"]),
                          "default": r["name"] == p["default_branch"]} for r in rows]}


@app.tool(returns={"name": "string", "commit": "string"})
def create_branch(ctx, project_id: ProjectId, branch: BranchName,
                  ref: Annotated[str | None, Field(description="Branch name or commit sha to start from; default the default branch")] = None) -> dict:
    """Create a branch from an existing branch (its files and head commit)."""
    p = _project(ctx, project_id, DEVELOPER, "create branches")
    source = _ref_branch(ctx, p, ref)
    if branch.startswith(("/", "-")) or branch.endswith(("/", ".lock", ".")) or ".." in branch or "//" in branch:
        raise ToolError("invalid_arguments", f"branch {branch!r} is not a valid git branch name", field="branch")
    if ctx.one("SELECT 1 FROM gl_branches WHERE project_id = ? AND name = ?", p["id"], branch):
        raise ToolError("conflict", f"branch {branch!r} already exists in {p['path_with_namespace']}")
    head = _branch(ctx, p, source)["commit_sha"]
    ctx.insert("gl_branches", project_id=p["id"], name=branch, commit_sha=head, protected=0)
    copy_tree(ctx, p["id"], source, branch)
    ctx.update("gl_projects", p["id"], last_activity_at=ctx.now)
    return {"name": branch, "commit": head}


@app.tool(destructive=True, idempotent=False)
def delete_branch(ctx, project_id: ProjectId, branch: Annotated[str, Field(description="Branch to delete")]) -> dict:
    """Delete a branch and its files (not the default branch, not a protected branch)."""
    p = _project(ctx, project_id, DEVELOPER, "delete branches")
    row = _branch(ctx, p, branch)
    if branch == p["default_branch"] or row["protected"]:
        raise ToolError("rule_violation", f"branch {branch!r} is {'the default' if branch == p['default_branch'] else 'a protected'} "
                        "branch and cannot be deleted")
    ctx.delete("gl_branches", row["id"])
    ctx.db.execute("DELETE FROM gl_files WHERE project_id = ? AND branch = ?", (p["id"], branch))
    return {"deleted": branch}


@app.tool(read_only=True)
def get_repository_tree(ctx, project_id: ProjectId,
                        path: Annotated[str | None, Field(description="Folder to list; default the repository root")] = None,
                        ref: Annotated[str | None, Field(description="Branch or commit sha; default the default branch")] = None,
                        recursive: Annotated[bool, Field(description="List everything below the folder, not just its direct entries")] = False) -> dict:
    """List files ('blob') and folders ('tree') of a repository folder."""
    p = _project(ctx, project_id)
    branch = _ref_branch(ctx, p, ref)
    prefix = (path.strip("/") + "/") if path and path.strip("/") else ""
    rows = ctx.all("SELECT path FROM gl_files WHERE project_id = ? AND branch = ? AND substr(path, 1, ?) = ? "
                   "ORDER BY path LIMIT 5000", p["id"], branch, len(prefix), prefix)
    if prefix and not rows:
        raise not_found("folder", path)
    entries: dict[str, str] = {}
    for r in rows:
        rest = r["path"][len(prefix):]
        parts = rest.split("/")
        if recursive:
            for i in range(1, len(parts)):
                entries.setdefault(prefix + "/".join(parts[:i]), "tree")
            entries[r["path"]] = "blob"
        else:
            entries.setdefault(prefix + parts[0], "tree" if len(parts) > 1 else "blob")
    items = [{"name": k.rsplit("/", 1)[-1], "path": k, "type": t} for k, t in sorted(entries.items())]
    return {"ref": branch, "path": prefix.rstrip("/"), "items": items}


@app.tool(read_only=True)
def get_file_contents(ctx, project_id: ProjectId,
                      file_path: Annotated[str, Field(description="Path of the file in the repository, e.g. 'src/app.py'")],
                      ref: Annotated[str | None, Field(description="Branch or commit sha; default the default branch")] = None) -> dict:
    """Read a file of a repository at a branch."""
    p = _project(ctx, project_id)
    branch = _ref_branch(ctx, p, ref)
    row = ctx.one("SELECT * FROM gl_files WHERE project_id = ? AND branch = ? AND path = ?", p["id"], branch,
                  file_path.strip("/"))
    if row is None:
        raise not_found("file", f"{file_path}@{branch}")
    return {"file_path": row["path"], "ref": branch, "content": row["content"], "size": len(row["content"]),
            "last_commit_id": row["last_commit_sha"]}


@app.tool(returns={"file_path": "string", "branch": "string", "commit_id": "string"})
def create_or_update_file(ctx, project_id: ProjectId,
                          file_path: Annotated[str, Field(description="Path of the file to create or overwrite")],
                          content: Annotated[str, Field(description="Full new content of the file")],
                          commit_message: Annotated[str, Field(description="Commit message", min_length=1)],
                          branch: Annotated[str, Field(description="Branch to commit to")],
                          previous_path: Annotated[str | None, Field(description="Old path when the file is being moved/renamed")] = None) -> dict:
    """Create or update one file as a single commit on a branch (a move when previous_path is given)."""
    p = _project(ctx, project_id, DEVELOPER, "push commits")
    path = check_path(file_path.strip())
    first = not ctx.one("SELECT 1 FROM gl_branches WHERE project_id = ?", p["id"])
    if not first:
        _branch(ctx, p, branch)
    _require_push(ctx, p, branch)
    deletes = []
    if previous_path and previous_path != path:
        old = check_path(previous_path, "previous_path")
        if not ctx.one("SELECT 1 FROM gl_files WHERE project_id = ? AND branch = ? AND path = ?", p["id"], branch, old):
            raise not_found("file", f"{old}@{branch}")
        deletes.append(old)
    sha = commit(ctx, p["id"], branch, commit_message, ctx.actor["id"], writes=[(path, content)], deletes=deletes,
                 create_branch=first)
    return {"file_path": path, "branch": branch, "commit_id": sha}


@app.tool(returns={"branch": "string", "commit_id": "string"})
def push_files(ctx, project_id: ProjectId, branch: Annotated[str, Field(description="Branch to commit to")],
               files: Annotated[list[dict[str, str]], Field(description="Files to create or overwrite, each an object {\"file_path\": ..., \"content\": ...}", min_length=1, max_length=100)],
               commit_message: Annotated[str, Field(description="Commit message", min_length=1)]) -> dict:
    """Commit several files to a branch at once (one commit)."""
    p = _project(ctx, project_id, DEVELOPER, "push commits")
    first = not ctx.one("SELECT 1 FROM gl_branches WHERE project_id = ?", p["id"])
    if not first:
        _branch(ctx, p, branch)
    _require_push(ctx, p, branch)
    writes = []
    for i, f in enumerate(files):  # a plain object schema (no $ref), so the shape is checked here
        if set(f) != {"file_path", "content"}:
            raise ToolError("invalid_arguments", f"files[{i}] must have exactly the keys file_path and content, "
                            f"got {sorted(f)}", field=f"files.{i}")
        writes.append((check_path(f["file_path"].strip(), f"files[{i}].file_path"), f["content"]))
    if len({w[0] for w in writes}) != len(writes):
        raise ToolError("invalid_arguments", "files: the same file_path is listed twice", field="files")
    sha = commit(ctx, p["id"], branch, commit_message, ctx.actor["id"], writes=writes, create_branch=first)
    return {"branch": branch, "commit_id": sha, "files": [w[0] for w in writes]}


@app.tool(destructive=True, returns={"file_path": "string", "commit_id": "string"})
def delete_file(ctx, project_id: ProjectId, file_path: Annotated[str, Field(description="Path of the file to delete")],
                branch: Annotated[str, Field(description="Branch to commit the deletion to")],
                commit_message: Annotated[str, Field(description="Commit message", min_length=1)]) -> dict:
    """Delete a file as a commit on a branch."""
    p = _project(ctx, project_id, DEVELOPER, "push commits")
    _branch(ctx, p, branch)
    _require_push(ctx, p, branch)
    path = file_path.strip("/")
    if not ctx.one("SELECT 1 FROM gl_files WHERE project_id = ? AND branch = ? AND path = ?", p["id"], branch, path):
        raise not_found("file", f"{path}@{branch}")
    sha = commit(ctx, p["id"], branch, commit_message, ctx.actor["id"], deletes=[path])
    return {"file_path": path, "commit_id": sha}


def _commit_out(ctx, c: dict) -> dict:
    author = ctx.one("SELECT full_name, email FROM users WHERE id = ?", c["author_id"])
    return {"id": c["sha"], "short_id": c["sha"][:8], "title": c["message"].split("\n", 1)[0],
            "message": c["message"], "author_name": author["full_name"], "author_email": author["email"],
            "created_at": c["created_at"], "parent_ids": [p for p in (c["parent_sha"], c["merge_parent_sha"]) if p]}


@app.tool(read_only=True)
def list_commits(ctx, project_id: ProjectId,
                 ref_name: Annotated[str | None, Field(description="Branch whose history to list; default the default branch")] = None,
                 page: Page = 1, per_page: PerPage = 20) -> dict:
    """Commit history of a branch, newest first (first-parent history)."""
    p = _project(ctx, project_id)
    branch = _ref_branch(ctx, p, ref_name)
    head = _branch(ctx, p, branch)["commit_sha"]
    limit, offset = _page(page, per_page)
    rows = ctx.all(
        "WITH RECURSIVE chain(sha, depth) AS (SELECT ?, 0 UNION ALL SELECT c.parent_sha, chain.depth + 1 "
        "FROM chain JOIN gl_commits c ON c.project_id = ? AND c.sha = chain.sha "
        "WHERE c.parent_sha IS NOT NULL AND chain.depth < ?) "
        "SELECT c.* FROM chain JOIN gl_commits c ON c.project_id = ? AND c.sha = chain.sha "
        "ORDER BY chain.depth LIMIT ? OFFSET ?", head, p["id"], offset + limit, p["id"], limit, offset)
    return {"ref": branch, "commits": [_commit_out(ctx, r) for r in rows]}


@app.tool(read_only=True)
def get_commit(ctx, project_id: ProjectId,
               sha: Annotated[str, Field(description="Commit sha (full or at least 7 characters) or a branch name", min_length=1)]) -> dict:
    """One commit: message, author, parent and the files it changed."""
    p = _project(ctx, project_id)
    row = None
    if len(sha) >= 7:
        row = ctx.one("SELECT * FROM gl_commits WHERE project_id = ? AND substr(sha, 1, ?) = ? LIMIT 1", p["id"],
                      len(sha), sha.lower())
    if row is None:
        b = ctx.one("SELECT commit_sha FROM gl_branches WHERE project_id = ? AND name = ?", p["id"], sha)
        if b:
            row = ctx.one("SELECT * FROM gl_commits WHERE project_id = ? AND sha = ?", p["id"], b["commit_sha"])
    if row is None:
        raise not_found("commit", sha)
    out = _commit_out(ctx, row)
    out["changes"] = ctx.all("SELECT path, action FROM gl_commit_changes WHERE commit_id = ? ORDER BY path", row["id"])
    return out


# -- issues ----------------------------------------------------------------------------

def _issue(ctx, project: dict, iid: int) -> dict:
    row = ctx.one("SELECT * FROM gl_issues WHERE project_id = ? AND iid = ?", project["id"], iid)
    if row is None:
        raise not_found("issue", f"{project['path_with_namespace']}#{iid}")
    return row


def _issue_out(ctx, project: dict, i: dict, notes: bool = False) -> dict:
    assignees = [r["username"] for r in ctx.all(
        "SELECT u.username FROM gl_issue_assignees a JOIN users u ON u.id = a.user_id WHERE a.issue_id = ? "
        "ORDER BY a.id", i["id"])]
    milestone = ctx.scalar("SELECT title FROM gl_milestones WHERE id = ?", i["milestone_id"]) \
        if i["milestone_id"] else None
    out = {"id": i["id"], "iid": i["iid"], "project_id": project["id"], "title": i["title"],
           "description": i["description"], "state": i["state"],
           "labels": [x for x in i["labels"].split(",") if x], "assignees": assignees,
           "author": _username(ctx, i["author_id"]), "milestone": milestone, "created_at": i["created_at"],
           "updated_at": i["updated_at"], "closed_at": i["closed_at"],
           "web_url": f"{WEB}/{project['path_with_namespace']}/-/issues/{i['iid']}"}
    if notes:
        out["notes"] = _notes(ctx, "Issue", i["id"])
    return out


def _notes(ctx, kind: str, nid: int) -> list[dict]:
    rows = ctx.all("SELECT n.id, u.username AS author, n.body, n.created_at FROM gl_notes n "
                   "JOIN users u ON u.id = n.author_id WHERE n.noteable_type = ? AND n.noteable_id = ? "
                   "ORDER BY n.id DESC LIMIT 50", kind, nid)
    return list(reversed(rows))


def _labels(labels: list[str] | None) -> str:
    clean = []
    for lab in labels or []:
        lab = lab.strip()
        if "," in lab or not lab:
            raise ToolError("invalid_arguments", f"label {lab!r} is empty or contains a comma", field="labels")
        if lab not in clean:
            clean.append(lab)
    return ",".join(clean)


def _milestone(ctx, project: dict, milestone_id: int | None) -> int | None:
    if milestone_id is None:
        return None
    if not ctx.one("SELECT 1 FROM gl_milestones WHERE id = ? AND project_id = ?", milestone_id, project["id"]):
        raise not_found("milestone", milestone_id)
    return milestone_id


def _set_assignees(ctx, project: dict, issue: dict, assignee_ids: list[int]) -> list[str]:
    """Replace the issue's assignees; assignees must be project members; new ones are notified."""
    users = []
    for uid in dict.fromkeys(assignee_ids):
        acc = _gl_user(ctx, uid)
        if not ctx.one("SELECT 1 FROM gl_members WHERE project_id = ? AND user_id = ?", project["id"], acc["user_id"]):
            raise ToolError("rule_violation", f"{acc['username']} is not a member of {project['path_with_namespace']} "
                            "and cannot be assigned", user_id=uid)
        users.append(acc)
    before = {r["user_id"] for r in ctx.all("SELECT user_id FROM gl_issue_assignees WHERE issue_id = ?", issue["id"])}
    ctx.db.execute("DELETE FROM gl_issue_assignees WHERE issue_id = ?", (issue["id"],))
    for acc in users:
        ctx.insert("gl_issue_assignees", issue_id=issue["id"], user_id=acc["user_id"])
        if acc["user_id"] not in before and acc["user_id"] != ctx.actor["id"]:
            ctx.notify(acc["user_id"], "gitlab", f"{ctx.actor['full_name']} assigned you to issue "
                       f"{project['path_with_namespace']}#{issue['iid']}: {issue['title']}",
                       ref=f"gitlab:issue:{issue['id']}")
    return [a["username"] for a in users]


@app.tool(returns={"id": "integer", "iid": "integer", "web_url": "string"})
def create_issue(ctx, project_id: ProjectId, title: Annotated[str, Field(description="Issue title", min_length=1, max_length=255)],
                 description: Annotated[str | None, Field(description="Issue description (markdown)")] = None,
                 assignee_ids: Annotated[list[int] | None, Field(description="User ids to assign (must be project members)")] = None,
                 labels: Annotated[list[str] | None, Field(description="Label names, e.g. ['bug', 'backend']")] = None,
                 milestone_id: Annotated[int | None, Field(description="Milestone id (see list_milestones)")] = None) -> dict:
    """Open an issue in a project (needs reporter access to a private project; assignees are notified)."""
    p = _project(ctx, project_id)
    if p["visibility"] == "private" and _access(ctx, p) < REPORTER:
        raise ToolError("permission_denied", "guests may not create issues in a private project")
    iid = (ctx.scalar("SELECT MAX(iid) FROM gl_issues WHERE project_id = ?", p["id"]) or 0) + 1
    iss_id = ctx.insert("gl_issues", project_id=p["id"], iid=iid, title=title, description=description or "",
                        state="opened", labels=_labels(labels), milestone_id=_milestone(ctx, p, milestone_id),
                        author_id=ctx.actor["id"], created_at=ctx.now, updated_at=ctx.now)
    issue = ctx.get("gl_issues", iss_id)
    if assignee_ids:
        _set_assignees(ctx, p, issue, assignee_ids)
    ctx.update("gl_projects", p["id"], last_activity_at=ctx.now)
    return {"id": iss_id, "iid": iid, "project_id": p["id"],
            "web_url": f"{WEB}/{p['path_with_namespace']}/-/issues/{iid}"}


@app.tool(read_only=True)
def list_issues(ctx, project_id: ProjectId,
                state: Annotated[Literal["opened", "closed", "all"], Field(description="Which issues")] = "opened",
                labels: Annotated[list[str] | None, Field(description="Only issues that have all these labels")] = None,
                assignee_username: Annotated[str | None, Field(description="Only issues assigned to this user")] = None,
                search: Annotated[str | None, Field(description="Text in title or description")] = None,
                page: Page = 1, per_page: PerPage = 20) -> dict:
    """List a project's issues, newest first."""
    p = _project(ctx, project_id)
    sql = "SELECT i.* FROM gl_issues i WHERE i.project_id = ?"
    args: list = [p["id"]]
    if state != "all":
        sql += " AND i.state = ?"
        args.append(state)
    for lab in labels or []:
        sql += " AND (',' || i.labels || ',') LIKE ?"
        args.append(f"%,{lab},%")
    if assignee_username:
        sql += (" AND EXISTS (SELECT 1 FROM gl_issue_assignees a JOIN users u ON u.id = a.user_id "
                "WHERE a.issue_id = i.id AND u.username = ?)")
        args.append(assignee_username.lstrip("@"))
    if search:
        sql += " AND (i.title LIKE ? OR i.description LIKE ?)"
        args += [f"%{search}%", f"%{search}%"]
    limit, offset = _page(page, per_page)
    rows = ctx.all(sql + " ORDER BY i.iid DESC LIMIT ? OFFSET ?", *args, limit, offset)
    return {"count": len(rows), "page": page, "items": [_issue_out(ctx, p, r) for r in rows]}


@app.tool(read_only=True)
def get_issue(ctx, project_id: ProjectId, issue_iid: IssueIid) -> dict:
    """One issue with its assignees, labels and comments."""
    p = _project(ctx, project_id)
    return _issue_out(ctx, p, _issue(ctx, p, issue_iid), notes=True)


def _issue_state(ctx, issue: dict, new: str) -> dict:
    if new == issue["state"]:
        return {}
    if new not in ISSUE_TRANSITIONS[issue["state"]]:
        raise ToolError("invalid_transition", f"issue cannot go from {issue['state']} to {new}")
    return {"state": new, "closed_at": ctx.now if new == "closed" else None}


@app.tool(idempotent=True)
def update_issue(ctx, project_id: ProjectId, issue_iid: IssueIid,
                 title: Annotated[str | None, Field(description="New title", min_length=1, max_length=255)] = None,
                 description: Annotated[str | None, Field(description="New description")] = None,
                 assignee_ids: Annotated[list[int] | None, Field(description="New assignees (replaces the old ones; [] unassigns)")] = None,
                 labels: Annotated[list[str] | None, Field(description="New labels (replaces the old ones)")] = None,
                 milestone_id: Annotated[int | None, Field(description="Milestone id")] = None,
                 state_event: Annotated[Literal["close", "reopen"] | None, Field(description="close or reopen the issue")] = None) -> dict:
    """Change an issue: title, description, assignees, labels, milestone, or close/reopen it."""
    p = _project(ctx, project_id, REPORTER, "update issues")
    issue = _issue(ctx, p, issue_iid)
    changes: dict = {}
    if title is not None:
        changes["title"] = title
    if description is not None:
        changes["description"] = description
    if labels is not None:
        changes["labels"] = _labels(labels)
    if milestone_id is not None:
        changes["milestone_id"] = _milestone(ctx, p, milestone_id)
    if state_event:
        changes.update(_issue_state(ctx, issue, "closed" if state_event == "close" else "opened"))
    if changes or assignee_ids is not None:
        changes["updated_at"] = ctx.now
    ctx.update("gl_issues", issue["id"], **changes)
    if assignee_ids is not None:
        _set_assignees(ctx, p, {**issue, **changes}, assignee_ids)
    return _issue_out(ctx, p, ctx.get("gl_issues", issue["id"]))


@app.tool(idempotent=True)
def close_issue(ctx, project_id: ProjectId, issue_iid: IssueIid) -> dict:
    """Close an open issue."""
    p = _project(ctx, project_id, REPORTER, "close issues")
    issue = _issue(ctx, p, issue_iid)
    if issue["state"] == "closed":
        raise ToolError("invalid_transition", f"issue #{issue_iid} is already closed")
    ctx.update("gl_issues", issue["id"], updated_at=ctx.now, **_issue_state(ctx, issue, "closed"))
    return {"iid": issue_iid, "state": "closed"}


@app.tool(read_only=True)
def list_milestones(ctx, project_id: ProjectId,
                    state: Annotated[Literal["active", "closed"] | None, Field(description="Only milestones in this state")] = None) -> dict:
    """Milestones of a project (ids for create_issue)."""
    p = _project(ctx, project_id)
    sql, args = "SELECT id, title, state, due_date FROM gl_milestones WHERE project_id = ?", [p["id"]]
    if state:
        sql += " AND state = ?"
        args.append(state)
    return {"milestones": ctx.all(sql + " ORDER BY due_date LIMIT 100", *args)}


@app.tool(returns={"id": "integer"})
def create_note(ctx, project_id: ProjectId,
                noteable_type: Annotated[Literal["issue", "merge_request"], Field(description="What to comment on")],
                noteable_iid: Annotated[int, Field(description="The issue's or merge request's iid", ge=1)],
                body: Annotated[str, Field(description="Comment text (markdown)", min_length=1)]) -> dict:
    """Add a comment to an issue or a merge request."""
    p = _project(ctx, project_id)
    if noteable_type == "issue":
        target, kind = _issue(ctx, p, noteable_iid), "Issue"
    else:
        target, kind = _mr(ctx, p, noteable_iid), "MergeRequest"
    if p["visibility"] == "private" and _access(ctx, p) < REPORTER and target["author_id"] != ctx.actor["id"]:
        raise ToolError("permission_denied", "guests may only comment on their own issues")
    nid = ctx.insert("gl_notes", project_id=p["id"], noteable_type=kind, noteable_id=target["id"], body=body,
                     author_id=ctx.actor["id"], created_at=ctx.now)
    return {"id": nid, "noteable_type": kind, "noteable_iid": noteable_iid}


# -- merge requests --------------------------------------------------------------------------

def _mr(ctx, project: dict, iid: int) -> dict:
    row = ctx.one("SELECT * FROM gl_merge_requests WHERE project_id = ? AND iid = ?", project["id"], iid)
    if row is None:
        raise not_found("merge request", f"{project['path_with_namespace']}!{iid}")
    return row


def _mr_out(ctx, project: dict, m: dict, notes: bool = False) -> dict:
    out = {"id": m["id"], "iid": m["iid"], "project_id": project["id"], "title": m["title"],
           "description": m["description"], "state": m["state"], "draft": bool(m["draft"]),
           "source_branch": m["source_branch"], "target_branch": m["target_branch"],
           "author": _username(ctx, m["author_id"]), "assignee": _username(ctx, m["assignee_id"]),
           "merge_commit_sha": m["merge_commit_sha"], "merged_by": _username(ctx, m["merged_by_id"]),
           "merged_at": m["merged_at"], "closed_at": m["closed_at"], "created_at": m["created_at"],
           "updated_at": m["updated_at"],
           "web_url": f"{WEB}/{project['path_with_namespace']}/-/merge_requests/{m['iid']}"}
    if notes:
        out["notes"] = _notes(ctx, "MergeRequest", m["id"])
    return out


@app.tool(returns={"id": "integer", "iid": "integer", "web_url": "string"})
def create_merge_request(ctx, project_id: ProjectId, title: Annotated[str, Field(description="Merge request title", min_length=1, max_length=255)],
                         source_branch: Annotated[str, Field(description="Branch with the changes")],
                         target_branch: Annotated[str, Field(description="Branch to merge into, usually the default branch")],
                         description: Annotated[str | None, Field(description="Description (markdown)")] = None,
                         draft: Annotated[bool | None, Field(description="Mark as draft (cannot be merged until ready)")] = None,
                         allow_collaboration: Annotated[bool | None, Field(description="Let members who can merge push to the source branch")] = None,
                         assignee_id: Annotated[int | None, Field(description="User id to assign (notified)")] = None) -> dict:
    """Open a merge request from a source branch into a target branch."""
    p = _project(ctx, project_id, DEVELOPER, "open merge requests")
    _branch(ctx, p, source_branch)
    _branch(ctx, p, target_branch)
    if source_branch == target_branch:
        raise ToolError("rule_violation", "source and target branch must differ")
    if ctx.one("SELECT 1 FROM gl_merge_requests WHERE project_id = ? AND source_branch = ? AND target_branch = ? "
               "AND state = 'opened'", p["id"], source_branch, target_branch):
        raise ToolError("conflict", f"an open merge request from {source_branch} into {target_branch} already exists")
    assignee = None
    if assignee_id is not None:
        assignee = _gl_user(ctx, assignee_id)
        if not ctx.one("SELECT 1 FROM gl_members WHERE project_id = ? AND user_id = ?", p["id"], assignee["user_id"]):
            raise ToolError("rule_violation", f"{assignee['username']} is not a project member and cannot be assigned")
    iid = (ctx.scalar("SELECT MAX(iid) FROM gl_merge_requests WHERE project_id = ?", p["id"]) or 0) + 1
    mid = ctx.insert("gl_merge_requests", project_id=p["id"], iid=iid, title=title, description=description or "",
                     source_branch=source_branch, target_branch=target_branch, state="opened",
                     draft=int(bool(draft) or title.lower().startswith(("draft:", "[draft]"))),
                     allow_collaboration=int(bool(allow_collaboration)), author_id=ctx.actor["id"],
                     assignee_id=assignee["user_id"] if assignee else None, created_at=ctx.now, updated_at=ctx.now)
    if assignee and assignee["user_id"] != ctx.actor["id"]:
        ctx.notify(assignee["user_id"], "gitlab", f"{ctx.actor['full_name']} assigned you merge request "
                   f"{p['path_with_namespace']}!{iid}: {title}", ref=f"gitlab:merge_request:{mid}")
    return {"id": mid, "iid": iid, "project_id": p["id"],
            "web_url": f"{WEB}/{p['path_with_namespace']}/-/merge_requests/{iid}"}


@app.tool(read_only=True)
def list_merge_requests(ctx, project_id: ProjectId,
                        state: Annotated[Literal["opened", "closed", "merged", "all"], Field(description="Which merge requests")] = "opened",
                        source_branch: Annotated[str | None, Field(description="Only from this source branch")] = None,
                        target_branch: Annotated[str | None, Field(description="Only into this target branch")] = None,
                        page: Page = 1, per_page: PerPage = 20) -> dict:
    """List a project's merge requests, newest first."""
    p = _project(ctx, project_id)
    sql, args = "SELECT * FROM gl_merge_requests WHERE project_id = ?", [p["id"]]
    for col, val in (("state", None if state == "all" else state), ("source_branch", source_branch),
                     ("target_branch", target_branch)):
        if val:
            sql += f" AND {col} = ?"
            args.append(val)
    limit, offset = _page(page, per_page)
    rows = ctx.all(sql + " ORDER BY iid DESC LIMIT ? OFFSET ?", *args, limit, offset)
    return {"count": len(rows), "page": page, "items": [_mr_out(ctx, p, r) for r in rows]}


@app.tool(read_only=True)
def get_merge_request(ctx, project_id: ProjectId, merge_request_iid: MrIid) -> dict:
    """One merge request with its comments and the latest pipeline of its source branch."""
    p = _project(ctx, project_id)
    m = _mr(ctx, p, merge_request_iid)
    out = _mr_out(ctx, p, m, notes=True)
    pl = ctx.one("SELECT id, status FROM gl_pipelines WHERE project_id = ? AND ref = ? ORDER BY id DESC LIMIT 1",
                 p["id"], m["source_branch"])
    out["head_pipeline"] = pl
    return out


def _diff(ctx, project_id: int, source: str, target: str) -> tuple[list[dict], list[str]]:
    """The file changes merging `source` into `target` would make, and the conflicting paths."""
    writes, deletes, conflicts = merge_plan(ctx, project_id, source, target)
    old = {r["path"]: r["content"] for r in ctx.all(
        "SELECT path, content FROM gl_files WHERE project_id = ? AND branch = ? AND path IN "
        "(SELECT value FROM json_each(?))", project_id, target, json.dumps([w[0] for w in writes] + deletes))}
    out = [{"new_path": p, "new_file": p not in old, "deleted_file": False, "new_content": c,
            "old_content": old.get(p)} for p, c in writes]
    out += [{"new_path": p, "new_file": False, "deleted_file": True, "new_content": None, "old_content": old.get(p)}
            for p in deletes]
    return out, conflicts


@app.tool(read_only=True)
def get_merge_request_diffs(ctx, project_id: ProjectId, merge_request_iid: MrIid) -> dict:
    """The file changes a merge request would apply to its target branch (new, changed, deleted files)."""
    p = _project(ctx, project_id)
    m = _mr(ctx, p, merge_request_iid)
    if m["state"] == "merged":
        c = ctx.one("SELECT id FROM gl_commits WHERE project_id = ? AND sha = ?", p["id"], m["merge_commit_sha"])
        changes = ctx.all("SELECT path AS new_path, action FROM gl_commit_changes WHERE commit_id = ? ORDER BY path",
                          c["id"]) if c else []
        return {"iid": m["iid"], "state": "merged", "changes": changes}
    if not ctx.one("SELECT 1 FROM gl_branches WHERE project_id = ? AND name = ?", p["id"], m["source_branch"]):
        raise not_found("branch", m["source_branch"])
    changes, conflicts = _diff(ctx, p["id"], m["source_branch"], m["target_branch"])
    return {"iid": m["iid"], "state": m["state"], "changes": changes, "has_conflicts": bool(conflicts),
            "conflicts": conflicts}


@app.tool(idempotent=True)
def update_merge_request(ctx, project_id: ProjectId, merge_request_iid: MrIid,
                         title: Annotated[str | None, Field(description="New title", min_length=1, max_length=255)] = None,
                         description: Annotated[str | None, Field(description="New description")] = None,
                         target_branch: Annotated[str | None, Field(description="New target branch")] = None,
                         draft: Annotated[bool | None, Field(description="Mark as draft (true) or ready (false)")] = None,
                         assignee_id: Annotated[int | None, Field(description="User id to assign (0 unassigns)")] = None,
                         state_event: Annotated[Literal["close", "reopen"] | None, Field(description="close or reopen the merge request")] = None) -> dict:
    """Change a merge request: title, description, target, draft flag, assignee, or close/reopen it."""
    p = _project(ctx, project_id, DEVELOPER, "update merge requests")
    m = _mr(ctx, p, merge_request_iid)
    if m["state"] == "merged" and (target_branch or draft is not None or state_event):
        raise ToolError("invalid_transition", f"merge request !{m['iid']} is already merged")
    changes: dict = {}
    if title is not None:
        changes["title"] = title
    if description is not None:
        changes["description"] = description
    if target_branch is not None:
        _branch(ctx, p, target_branch)
        if target_branch == m["source_branch"]:
            raise ToolError("rule_violation", "source and target branch must differ")
        changes["target_branch"] = target_branch
    if draft is not None:
        changes["draft"] = int(draft)
    if state_event:
        new = "closed" if state_event == "close" else "opened"
        if new == m["state"] or new not in MR_TRANSITIONS[m["state"]]:
            raise ToolError("invalid_transition", f"merge request !{m['iid']} cannot go from {m['state']} to {new}")
        if new == "opened" and not ctx.one("SELECT 1 FROM gl_branches WHERE project_id = ? AND name = ?",
                                           p["id"], m["source_branch"]):
            raise ToolError("rule_violation", f"source branch {m['source_branch']!r} no longer exists")
        changes.update(state=new, closed_at=ctx.now if new == "closed" else None)
    if assignee_id is not None:
        if assignee_id == 0:
            changes["assignee_id"] = None
        else:
            acc = _gl_user(ctx, assignee_id)
            if not ctx.one("SELECT 1 FROM gl_members WHERE project_id = ? AND user_id = ?", p["id"], acc["user_id"]):
                raise ToolError("rule_violation", f"{acc['username']} is not a project member and cannot be assigned")
            changes["assignee_id"] = acc["user_id"]
            if acc["user_id"] != m["assignee_id"] and acc["user_id"] != ctx.actor["id"]:
                ctx.notify(acc["user_id"], "gitlab", f"{ctx.actor['full_name']} assigned you merge request "
                           f"{p['path_with_namespace']}!{m['iid']}: {m['title']}", ref=f"gitlab:merge_request:{m['id']}")
    if changes:
        changes["updated_at"] = ctx.now
    ctx.update("gl_merge_requests", m["id"], **changes)
    return _mr_out(ctx, p, ctx.get("gl_merge_requests", m["id"]))


@app.tool(destructive=False, idempotent=False)
def merge_merge_request(ctx, project_id: ProjectId, merge_request_iid: MrIid,
                        merge_commit_message: Annotated[str | None, Field(description="Custom merge commit message")] = None,
                        should_remove_source_branch: Annotated[bool, Field(description="Delete the source branch after merging")] = False) -> dict:
    """Merge an open, non-draft merge request: the source branch's files are applied to the target
    branch as one merge commit. Refused while the source branch's latest pipeline failed or runs."""
    p = _project(ctx, project_id)
    m = _mr(ctx, p, merge_request_iid)
    if "merged" not in MR_TRANSITIONS[m["state"]]:
        raise ToolError("invalid_transition", f"merge request !{m['iid']} is {m['state']} and cannot be merged",
                        state=m["state"])
    if m["draft"]:
        raise ToolError("rule_violation", f"merge request !{m['iid']} is a draft; mark it ready first")
    _require_push(ctx, p, m["target_branch"])
    src = ctx.one("SELECT * FROM gl_branches WHERE project_id = ? AND name = ?", p["id"], m["source_branch"])
    if src is None:
        raise ToolError("rule_violation", f"source branch {m['source_branch']!r} no longer exists")
    _branch(ctx, p, m["target_branch"])
    pl = ctx.one("SELECT id, status FROM gl_pipelines WHERE project_id = ? AND ref = ? ORDER BY id DESC LIMIT 1",
                 p["id"], m["source_branch"])
    if pl and pl["status"] in ("failed", "running", "created"):
        raise ToolError("rule_violation", f"pipeline #{pl['id']} of {m['source_branch']!r} is {pl['status']}; "
                        "merging needs a successful (or no) pipeline", pipeline_id=pl["id"])
    writes, deletes, conflicts = merge_plan(ctx, p["id"], m["source_branch"], m["target_branch"])
    if conflicts:
        raise ToolError("rule_violation", f"merge conflict: {', '.join(conflicts)} changed on both "
                        f"{m['source_branch']!r} and {m['target_branch']!r}; resolve it on the source branch",
                        conflicts=conflicts)
    message = merge_commit_message or (f"Merge branch '{m['source_branch']}' into '{m['target_branch']}'\n\n"
                                       f"{m['title']}\n\nSee merge request {p['path_with_namespace']}!{m['iid']}")
    sha = commit(ctx, p["id"], m["target_branch"], message, ctx.actor["id"], writes=writes, deletes=deletes,
                 merge_parent=src["commit_sha"])
    ctx.update("gl_merge_requests", m["id"], state="merged", merge_commit_sha=sha, merged_by_id=ctx.actor["id"],
               merged_at=ctx.now, updated_at=ctx.now)
    if should_remove_source_branch and m["source_branch"] != p["default_branch"] and not src["protected"]:
        ctx.delete("gl_branches", src["id"])
        ctx.db.execute("DELETE FROM gl_files WHERE project_id = ? AND branch = ?", (p["id"], m["source_branch"]))
    if m["author_id"] != ctx.actor["id"]:
        ctx.notify(m["author_id"], "gitlab", f"{ctx.actor['full_name']} merged your merge request "
                   f"{p['path_with_namespace']}!{m['iid']}", ref=f"gitlab:merge_request:{m['id']}")
    return {"iid": m["iid"], "state": "merged", "merge_commit_sha": sha, "target_branch": m["target_branch"],
            "files_changed": len(writes) + len(deletes)}


# -- pipelines --------------------------------------------------------------------------------

def _pipeline(ctx, project: dict, pipeline_id: int) -> dict:
    row = ctx.one("SELECT * FROM gl_pipelines WHERE id = ? AND project_id = ?", pipeline_id, project["id"])
    if row is None:
        raise not_found("pipeline", pipeline_id)
    return row


def _pipeline_out(ctx, r: dict) -> dict:
    return {"id": r["id"], "ref": r["ref"], "sha": r["sha"], "status": r["status"], "source": r["source"],
            "user": _username(ctx, r["user_id"]), "created_at": r["created_at"], "started_at": r["started_at"],
            "finished_at": r["finished_at"]}


def _move_pipeline(ctx, pl: dict, new: str) -> dict:
    if new not in PIPELINE_TRANSITIONS[pl["status"]]:
        raise ToolError("invalid_transition", f"pipeline #{pl['id']} cannot go from {pl['status']} to {new}",
                        status=pl["status"])
    changes = {"status": new}
    if new == "running":
        changes.update(started_at=ctx.now, finished_at=None)
    else:
        changes["finished_at"] = ctx.now
    ctx.update("gl_pipelines", pl["id"], **changes)
    return {**pl, **changes}


@app.tool(read_only=True)
def list_pipelines(ctx, project_id: ProjectId,
                   status: Annotated[Literal["created", "running", "success", "failed", "canceled"] | None, Field(description="Only pipelines in this status")] = None,
                   ref: Annotated[str | None, Field(description="Only pipelines of this branch")] = None,
                   page: Page = 1, per_page: PerPage = 20) -> dict:
    """CI pipelines of a project, newest first."""
    p = _project(ctx, project_id)
    sql, args = "SELECT * FROM gl_pipelines WHERE project_id = ?", [p["id"]]
    if status:
        sql += " AND status = ?"
        args.append(status)
    if ref:
        sql += " AND ref = ?"
        args.append(ref)
    limit, offset = _page(page, per_page)
    rows = ctx.all(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", *args, limit, offset)
    return {"count": len(rows), "items": [_pipeline_out(ctx, r) for r in rows]}


@app.tool(read_only=True)
def get_pipeline(ctx, project_id: ProjectId, pipeline_id: Annotated[int, Field(description="Pipeline id")]) -> dict:
    """One pipeline and its status."""
    p = _project(ctx, project_id)
    return _pipeline_out(ctx, _pipeline(ctx, p, pipeline_id))


@app.tool(returns={"id": "integer", "status": "string", "sha": "string"})
def create_pipeline(ctx, project_id: ProjectId, ref: Annotated[str, Field(description="Branch to run the pipeline for")]) -> dict:
    """Start a CI pipeline for a branch's head commit (status 'created'); needs a .gitlab-ci.yml."""
    p = _project(ctx, project_id, DEVELOPER, "run pipelines")
    b = _branch(ctx, p, ref)
    if not ctx.one("SELECT 1 FROM gl_files WHERE project_id = ? AND branch = ? AND path = '.gitlab-ci.yml'",
                   p["id"], ref):
        raise ToolError("rule_violation", f"branch {ref!r} has no .gitlab-ci.yml; nothing to run")
    pid = ctx.insert("gl_pipelines", project_id=p["id"], ref=ref, sha=b["commit_sha"], status="created",
                     source="web", user_id=ctx.actor["id"], created_at=ctx.now)
    return {"id": pid, "status": "created", "sha": b["commit_sha"], "ref": ref}


@app.tool(idempotent=False)
def cancel_pipeline(ctx, project_id: ProjectId, pipeline_id: Annotated[int, Field(description="Pipeline id")]) -> dict:
    """Cancel a created or running pipeline."""
    p = _project(ctx, project_id, DEVELOPER, "cancel pipelines")
    return _pipeline_out(ctx, _move_pipeline(ctx, _pipeline(ctx, p, pipeline_id), "canceled"))


@app.tool(idempotent=False)
def retry_pipeline(ctx, project_id: ProjectId, pipeline_id: Annotated[int, Field(description="Pipeline id")]) -> dict:
    """Retry a failed or canceled pipeline (it runs again)."""
    p = _project(ctx, project_id, DEVELOPER, "retry pipelines")
    return _pipeline_out(ctx, _move_pipeline(ctx, _pipeline(ctx, p, pipeline_id), "running"))


@app.tool(idempotent=False)
def set_commit_status(ctx, project_id: ProjectId,
                      sha: Annotated[str, Field(description="Commit sha the status is for", min_length=7)],
                      state: Annotated[Literal["running", "success", "failed", "canceled"], Field(description="New status reported by the CI runner")],
                      pipeline_id: Annotated[int | None, Field(description="Pipeline to update; default the newest pipeline of that commit")] = None) -> dict:
    """Report a CI result for a commit (what a runner does): moves its pipeline along
    created -> running -> success | failed | canceled."""
    p = _project(ctx, project_id, DEVELOPER, "report commit statuses")
    if pipeline_id is not None:
        pl = _pipeline(ctx, p, pipeline_id)
        if not pl["sha"].startswith(sha):
            raise ToolError("invalid_arguments", f"pipeline #{pipeline_id} is for commit {pl['sha'][:8]}, not {sha[:8]}")
    else:
        pl = ctx.one("SELECT * FROM gl_pipelines WHERE project_id = ? AND substr(sha, 1, ?) = ? ORDER BY id DESC "
                     "LIMIT 1", p["id"], len(sha), sha.lower())
        if pl is None:
            raise not_found("pipeline for commit", sha)
    out = _move_pipeline(ctx, pl, state)
    if state == "failed" and pl["user_id"] and pl["user_id"] != ctx.actor["id"]:
        ctx.notify(pl["user_id"], "gitlab", f"Pipeline #{pl['id']} of {p['path_with_namespace']} ({pl['ref']}) failed",
                   ref=f"gitlab:pipeline:{pl['id']}", kind="alert")
    return _pipeline_out(ctx, out)
