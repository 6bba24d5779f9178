"""Plane issue tools: issues and their workflow, comments, worklogs."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from arena.apps.plane import app
from arena.apps.plane.common import (IssueId, ProjectId, check_range, child, issue, parse_data, parse_date, project,
                                     readable, require)
from arena.apps.plane.schema import ADMIN, GUEST, MEMBER, PRIORITIES
from arena.core.errors import ToolError, not_found

# An issue moves between state groups only along these edges; moves inside a group are free.
TRANSITIONS: dict[str, set[str]] = {
    "backlog": {"unstarted", "started", "cancelled"},
    "unstarted": {"backlog", "started", "cancelled"},
    "started": {"backlog", "unstarted", "completed", "cancelled"},
    "completed": {"started"},               # reopening means working on it again
    "cancelled": {"backlog", "unstarted"},  # a revived issue is planned again before work starts
}
NONE = type(None)
ISSUE_KEYS = {"name": (str,), "description_html": (str,), "state": (str, int), "state_id": (str, int),
              "priority": (str,), "assignees": (list,), "labels": (list,), "type_id": (str, int, NONE),
              "parent": (str, int, NONE), "start_date": (str, NONE), "target_date": (str, NONE),
              "estimate_point": (int, NONE)}
WORKLOG_KEYS = {"description": (str,), "duration": (int,)}
MAX_WORKLOG_MINUTES = 24 * 60
ISSUE_DATA_HELP = ('JSON object with any of: name, description_html, state (state id or name), priority '
                   '(urgent|high|medium|low|none), assignees (list of user ids/usernames/emails), labels (list of '
                   'label ids/names), type_id, parent (issue id or "WEB-3"), start_date, target_date (YYYY-MM-DD), '
                   'estimate_point')


# -- shapes ------------------------------------------------------------------------------------
def issue_summary(proj: dict, row: dict) -> dict:
    """A list row; expects the columns list_issue_rows selects."""
    return {"id": row["id"], "identifier": readable(proj, row), "name": row["name"], "state": row["state_name"],
            "state_group": row["state_group"], "priority": row["priority"],
            "assignees": row["assignees"].split(",") if row["assignees"] else [],
            "target_date": row["target_date"]}


def list_issue_rows(ctx, where: str, *args, limit: int = 50, offset: int = 0) -> list[dict]:
    return ctx.all(
        "SELECT i.*, s.name AS state_name, s.state_group AS state_group, "
        "(SELECT group_concat(u.username) FROM pl_issue_assignees a JOIN users u ON u.id = a.user_id "
        " WHERE a.issue_id = i.id) AS assignees "
        f"FROM pl_issues i JOIN pl_states s ON s.id = i.state_id WHERE {where} ORDER BY i.sequence_id LIMIT ? OFFSET ?",
        *args, limit, offset)


def issue_detail(ctx, proj: dict, row: dict) -> dict:
    state = ctx.get("pl_states", row["state_id"])
    itype = ctx.scalar("SELECT name FROM pl_issue_types WHERE id = ?", row["type_id"])
    parent = ctx.one("SELECT sequence_id FROM pl_issues WHERE id = ?", row["parent_id"]) if row["parent_id"] else None
    extra = ctx.one(
        "SELECT (SELECT group_concat(u.username) FROM pl_issue_assignees a JOIN users u ON u.id = a.user_id "
        "        WHERE a.issue_id = ?1) AS assignees, "
        "(SELECT group_concat(l.name) FROM pl_issue_labels x JOIN pl_labels l ON l.id = x.label_id "
        "        WHERE x.issue_id = ?1) AS labels, "
        "(SELECT c.name FROM pl_cycle_issues ci JOIN pl_cycles c ON c.id = ci.cycle_id WHERE ci.issue_id = ?1) AS cycle, "
        "(SELECT group_concat(m.name) FROM pl_module_issues mi JOIN pl_modules m ON m.id = mi.module_id "
        "        WHERE mi.issue_id = ?1) AS modules, "
        "(SELECT COUNT(*) FROM pl_comments WHERE issue_id = ?1) AS comments, "
        "(SELECT COALESCE(SUM(duration), 0) FROM pl_worklogs WHERE issue_id = ?1) AS logged_minutes, "
        "(SELECT username FROM users WHERE id = ?2) AS created_by", row["id"], row["created_by"])
    split = (lambda v: v.split(",") if v else [])
    return {"id": row["id"], "identifier": readable(proj, row), "project": proj["identifier"],
            "sequence_id": row["sequence_id"], "name": row["name"], "description_html": row["description_html"],
            "state": {"id": state["id"], "name": state["name"], "group": state["state_group"]},
            "priority": row["priority"], "type": itype, "assignees": split(extra["assignees"]),
            "labels": split(extra["labels"]), "cycle": extra["cycle"], "modules": split(extra["modules"]),
            "parent": f"{proj['identifier']}-{parent['sequence_id']}" if parent else None,
            "start_date": row["start_date"], "target_date": row["target_date"],
            "estimate_point": row["estimate_point"], "comments": extra["comments"],
            "logged_minutes": extra["logged_minutes"], "created_by": extra["created_by"],
            "created_at": row["created_at"], "updated_at": row["updated_at"], "completed_at": row["completed_at"]}


# -- writing issues ----------------------------------------------------------------------------
def _assignees(ctx, proj: dict, idents: list) -> list[dict]:
    users = []
    for ident in idents:
        if not isinstance(ident, (str, int)) or isinstance(ident, bool):
            raise ToolError("invalid_arguments", f"issue_data.assignees: {ident!r} is not a user id, username or email",
                            field="issue_data.assignees")
        try:
            user = ctx.user_by(ident)
        except ToolError:
            raise not_found("user", ident) from None
        role = ctx.scalar("SELECT role FROM pl_project_members WHERE project_id = ? AND user_id = ?",
                          proj["id"], user["id"])
        if user["status"] != "active" or role is None or role < MEMBER:
            raise ToolError("rule_violation", f"{user['username']} cannot be assigned: only active project members "
                            f"of {proj['identifier']} can be", username=user["username"])
        if user not in users:
            users.append(user)
    return users


def apply_issue_data(ctx, proj: dict, row: dict | None, data: dict) -> int:
    """Create (row None) or update an issue from parsed issue_data; enforces the workflow,
    date order, membership of assignees; notifies new assignees. Returns the issue id."""
    values: dict = {}
    if "name" in data:
        if not data["name"].strip():
            raise ToolError("invalid_arguments", "issue_data.name: must not be empty", field="issue_data.name")
        values["name"] = data["name"].strip()
    if "description_html" in data:
        values["description_html"] = data["description_html"]
    if "state" in data and "state_id" in data:
        raise ToolError("invalid_arguments", "issue_data: give state or state_id, not both", field="issue_data.state")
    state_key = data.get("state", data.get("state_id"))
    if state_key is not None:
        new = child(ctx, "pl_states", "state", proj, state_key)
        if row is not None and new["id"] != row["state_id"]:
            old = ctx.get("pl_states", row["state_id"])
            if new["state_group"] != old["state_group"] and new["state_group"] not in TRANSITIONS[old["state_group"]]:
                allowed = sorted(TRANSITIONS[old["state_group"]])
                raise ToolError("invalid_transition",
                                f"{readable(proj, row)} cannot go from {old['name']} ({old['state_group']}) to {new['name']} "
                                f"({new['state_group']}); from {old['state_group']} it can move to: {', '.join(allowed)}",
                                from_state=old["name"], to_state=new["name"], allowed_groups=allowed)
        values["state_id"] = new["id"]
        values["completed_at"] = ctx.now if new["state_group"] == "completed" else None
    if "priority" in data:
        if data["priority"] not in PRIORITIES:
            raise ToolError("invalid_arguments", f"issue_data.priority: {data['priority']!r} is not one of "
                            f"{', '.join(PRIORITIES)}", field="issue_data.priority")
        values["priority"] = data["priority"]
    if "type_id" in data:
        t = child(ctx, "pl_issue_types", "issue type", proj, data["type_id"]) if data["type_id"] is not None else None
        if t is not None and not t["is_active"]:
            raise ToolError("rule_violation", f"issue type {t['name']!r} is inactive")
        values["type_id"] = t["id"] if t else None
    if "parent" in data:
        parent = issue(ctx, proj, str(data["parent"])) if data["parent"] is not None else None
        if parent is not None and row is not None and parent["id"] == row["id"]:
            raise ToolError("rule_violation", "an issue cannot be its own parent")
        values["parent_id"] = parent["id"] if parent else None
    for key in ("start_date", "target_date"):
        if key in data:
            values[key] = parse_date(data[key], f"issue_data.{key}")
    start = values.get("start_date", row["start_date"] if row else None)
    target = values.get("target_date", row["target_date"] if row else None)
    check_range(start, target, "issue", "start_date", "target_date")
    if "estimate_point" in data:
        if data["estimate_point"] is not None and data["estimate_point"] < 0:
            raise ToolError("invalid_arguments", "issue_data.estimate_point: must be >= 0",
                            field="issue_data.estimate_point")
        values["estimate_point"] = data["estimate_point"]
    assignees = _assignees(ctx, proj, data["assignees"]) if "assignees" in data else None
    labels = None
    if "labels" in data:
        labels = []
        for ident in data["labels"]:
            if not isinstance(ident, (str, int)) or isinstance(ident, bool):
                raise ToolError("invalid_arguments", f"issue_data.labels: {ident!r} is not a label id or name",
                                field="issue_data.labels")
            lb = child(ctx, "pl_labels", "label", proj, ident)
            if lb["id"] not in labels:
                labels.append(lb["id"])

    if row is None:
        if "name" not in values:
            raise ToolError("invalid_arguments", "issue_data.name: an issue needs a name", field="issue_data.name")
        seq = proj["issue_sequence"] + 1
        ctx.update("pl_projects", proj["id"], issue_sequence=seq)
        proj["issue_sequence"] = seq
        if "state_id" not in values:
            values["state_id"] = ctx.scalar("SELECT id FROM pl_states WHERE project_id = ? ORDER BY is_default DESC, "
                                            "sequence LIMIT 1", proj["id"])
        if "type_id" not in values:
            values["type_id"] = ctx.scalar("SELECT id FROM pl_issue_types WHERE project_id = ? AND is_default = 1",
                                           proj["id"])
        issue_id = ctx.insert("pl_issues", project_id=proj["id"], sequence_id=seq, created_by=ctx.actor["id"],
                              created_at=ctx.now, updated_at=ctx.now, **values)
        row = ctx.get("pl_issues", issue_id)
    else:
        issue_id = row["id"]
        ctx.update("pl_issues", issue_id, updated_at=ctx.now, **values)
    if labels is not None:
        ctx.db.execute("DELETE FROM pl_issue_labels WHERE issue_id = ?", (issue_id,))
        ctx.db.executemany("INSERT INTO pl_issue_labels (issue_id, label_id) VALUES (?, ?)",
                           [(issue_id, lid) for lid in labels])
    if assignees is not None:
        before = {r["user_id"] for r in ctx.all("SELECT user_id FROM pl_issue_assignees WHERE issue_id = ?", issue_id)}
        keep = {u["id"] for u in assignees}
        for uid in before - keep:
            ctx.db.execute("DELETE FROM pl_issue_assignees WHERE issue_id = ? AND user_id = ?", (issue_id, uid))
        name = values.get("name", row["name"])
        for user in assignees:
            if user["id"] not in before:
                ctx.insert("pl_issue_assignees", issue_id=issue_id, user_id=user["id"])
                ctx.notify(user["id"], "plane", f"{ctx.actor['username']} assigned you {readable(proj, row)}: {name}",
                           ref=f"plane:{readable(proj, row)}")
    return issue_id


def new_issue(ctx, proj: dict, data: dict) -> dict:
    require(ctx, proj, MEMBER, "create issues")
    issue_id = apply_issue_data(ctx, proj, None, data)
    row = ctx.get("pl_issues", issue_id)
    return {"id": issue_id, "identifier": readable(proj, row), "sequence_id": row["sequence_id"], "name": row["name"]}


ISSUE_RETURNS = {"id": "integer", "identifier": "string", "sequence_id": "integer", "name": "string"}
IssueName = Annotated[str, Field(description="Issue title", min_length=1, max_length=255)]
DescriptionHtml = Annotated[str, Field(description="Issue description as HTML, e.g. <p>Steps to reproduce…</p>")]


# -- issues ------------------------------------------------------------------------------------
@app.tool(read_only=True)
def list_project_issues(ctx, project_id: ProjectId,
                        state: Annotated[str | None, Field(description="Only issues in this state (id or name)")] = None,
                        assignee: Annotated[str | None, Field(description="Only issues assigned to this user (id, username or email)")] = None,
                        priority: Annotated[str | None, Field(description="Only this priority: urgent, high, medium, low, none")] = None,
                        limit: Annotated[int, Field(description="Maximum number of issues", ge=1, le=200)] = 50,
                        offset: Annotated[int, Field(description="Skip this many (paging)", ge=0)] = 0) -> dict:
    """Issues of a project in sequence order, optionally filtered by state, assignee or priority."""
    p = project(ctx, project_id)
    where, args = "i.project_id = ?", [p["id"]]
    if state:
        where += " AND i.state_id = ?"
        args.append(child(ctx, "pl_states", "state", p, state)["id"])
    if assignee:
        where += " AND EXISTS (SELECT 1 FROM pl_issue_assignees a WHERE a.issue_id = i.id AND a.user_id = ?)"
        args.append(ctx.user_by(assignee)["id"])
    if priority:
        if priority not in PRIORITIES:
            raise ToolError("invalid_arguments", f"priority: {priority!r} is not one of {', '.join(PRIORITIES)}",
                            field="priority")
        where += " AND i.priority = ?"
        args.append(priority)
    rows = list_issue_rows(ctx, where, *args, limit=limit, offset=offset)
    total = ctx.scalar(f"SELECT COUNT(*) FROM pl_issues i WHERE {where}", *args)
    return {"project": p["identifier"], "total": total, "issues": [issue_summary(p, r) for r in rows]}


@app.tool(read_only=True)
def get_issue(ctx, project_id: ProjectId, issue_id: IssueId) -> dict:
    """One issue with state, assignees, labels, cycle, modules and logged time."""
    p = project(ctx, project_id)
    return issue_detail(ctx, p, issue(ctx, p, issue_id))


@app.tool(read_only=True)
def get_issue_using_readable_identifier(
        ctx, project_identifier: Annotated[str, Field(description='Project identifier, e.g. "WEB"')],
        issue_identifier: Annotated[str, Field(description='Issue sequence number, e.g. "12" for WEB-12 (or "WEB-12")')]) -> dict:
    """Look an issue up by its readable id, e.g. project WEB, issue 12 for WEB-12."""
    p = project(ctx, project_identifier)
    key = issue_identifier.strip()
    if key.isdigit():
        key = f"{p['identifier']}-{int(key)}"
    return issue_detail(ctx, p, issue(ctx, p, key))


@app.tool(returns=ISSUE_RETURNS)
def plane_create_issue(ctx, project_id: ProjectId, name: IssueName, description_html: DescriptionHtml) -> dict:
    """Create an issue in the project's default state (usually Backlog). Set state, assignees,
    labels or dates afterwards with update_issue, or use create_issue with issue_data."""
    p = project(ctx, project_id)
    return new_issue(ctx, p, {"name": name, "description_html": description_html})


@app.tool(returns=ISSUE_RETURNS)
def create_issue(ctx, project_id: ProjectId,
                 issue_data: Annotated[str, Field(description=ISSUE_DATA_HELP + "; name is required")]) -> dict:
    """Create an issue with all its fields at once (Plane MCP server's create_issue). Assignees
    are notified."""
    p = project(ctx, project_id)
    return new_issue(ctx, p, parse_data(issue_data, "issue_data", ISSUE_KEYS))


@app.tool(idempotent=True)
def update_issue(ctx, project_id: ProjectId, issue_id: IssueId,
                 issue_data: Annotated[str, Field(description=ISSUE_DATA_HELP)]) -> dict:
    """Update an issue. State changes follow the workflow (e.g. a cancelled issue goes back to
    Backlog or Todo before it can be worked on or done); assignees given replace the current ones
    and each newly assigned person is notified."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    data = parse_data(issue_data, "issue_data", ISSUE_KEYS)
    require(ctx, p, MEMBER, "edit issues")
    apply_issue_data(ctx, p, row, data)
    return issue_detail(ctx, p, ctx.get("pl_issues", row["id"]))


@app.tool(destructive=True)
def delete_issue(ctx, project_id: ProjectId, issue_id: IssueId) -> dict:
    """Delete an issue with its comments, worklogs and memberships (project admins or its creator)."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    if row["created_by"] != ctx.actor["id"]:
        require(ctx, p, ADMIN, "delete other people's issues")
    else:
        require(ctx, p, MEMBER, "delete issues")
    for table in ("pl_issue_assignees", "pl_issue_labels", "pl_comments", "pl_worklogs", "pl_cycle_issues",
                  "pl_module_issues"):
        ctx.db.execute(f"DELETE FROM {table} WHERE issue_id = ?", (row["id"],))
    ctx.db.execute("UPDATE pl_issues SET parent_id = NULL WHERE parent_id = ?", (row["id"],))
    ctx.delete("pl_issues", row["id"])
    return {"id": row["id"], "identifier": readable(p, row), "deleted": True}


# -- comments ----------------------------------------------------------------------------------
@app.tool(read_only=True)
def get_issue_comments(ctx, project_id: ProjectId, issue_id: IssueId) -> dict:
    """The comments of an issue, oldest first."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    rows = ctx.all("SELECT c.id, c.comment_html, u.username AS actor, c.created_at FROM pl_comments c "
                   "JOIN users u ON u.id = c.actor_id WHERE c.issue_id = ? ORDER BY c.id LIMIT 200", row["id"])
    return {"issue": readable(p, row), "comments": rows}


@app.tool(returns={"id": "integer", "issue": "string"})
def add_issue_comment(ctx, project_id: ProjectId, issue_id: IssueId,
                      comment_html: Annotated[str, Field(description="Comment as HTML, e.g. <p>Fixed in v2.3</p>", min_length=1)]) -> dict:
    """Comment on an issue (guests may comment too)."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    require(ctx, p, GUEST, "comment")
    if not comment_html.strip():
        raise ToolError("invalid_arguments", "comment_html: must not be blank", field="comment_html")
    cid = ctx.insert("pl_comments", issue_id=row["id"], comment_html=comment_html, actor_id=ctx.actor["id"],
                     created_at=ctx.now)
    return {"id": cid, "issue": readable(p, row)}


# -- worklogs ----------------------------------------------------------------------------------
WorklogId = Annotated[str, Field(description="Worklog id")]


def _worklog(ctx, issue_row: dict, worklog_id: str) -> dict:
    row = ctx.one("SELECT * FROM pl_worklogs WHERE id = ? AND issue_id = ?",
                  int(worklog_id) if worklog_id.strip().isdigit() else -1, issue_row["id"])
    if row is None:
        raise not_found("worklog", worklog_id)
    return row


def _duration(value: int, field: str) -> int:
    if value <= 0:
        raise ToolError("rule_violation", f"{field}: a worklog needs a positive duration in minutes, got {value}",
                        field=field, value=value)
    if value > MAX_WORKLOG_MINUTES:
        raise ToolError("rule_violation", f"{field}: one worklog covers at most {MAX_WORKLOG_MINUTES} minutes "
                        f"(a day), got {value}", field=field, value=value)
    return value


def _own_worklog(ctx, proj: dict, wl: dict, action: str) -> None:
    if wl["logged_by_id"] != ctx.actor["id"]:
        require(ctx, proj, ADMIN, f"{action} someone else's worklog")


def _worklog_out(ctx, row: dict) -> dict:
    return {"id": row["id"], "description": row["description"], "duration": row["duration"],
            "logged_by": ctx.scalar("SELECT username FROM users WHERE id = ?", row["logged_by_id"]),
            "created_at": row["created_at"]}


@app.tool(read_only=True)
def get_issue_worklogs(ctx, project_id: ProjectId, issue_id: IssueId) -> dict:
    """Time logged on an issue (durations in minutes)."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    logs = ctx.all("SELECT * FROM pl_worklogs WHERE issue_id = ? ORDER BY id LIMIT 500", row["id"])
    return {"issue": readable(p, row), "worklogs": [_worklog_out(ctx, w) for w in logs],
            "total_minutes": sum(w["duration"] for w in logs)}


@app.tool(read_only=True)
def get_total_worklogs(ctx, project_id: ProjectId) -> dict:
    """Total time logged in a project, per member (minutes)."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT u.username, SUM(w.duration) AS minutes FROM pl_worklogs w JOIN pl_issues i ON i.id = w.issue_id "
                   "JOIN users u ON u.id = w.logged_by_id WHERE i.project_id = ? GROUP BY u.username ORDER BY minutes DESC",
                   p["id"])
    return {"project": p["identifier"], "by_member": rows, "total_minutes": sum(r["minutes"] for r in rows)}


@app.tool(returns={"id": "integer", "issue": "string", "duration": "integer"})
def create_worklog(ctx, project_id: ProjectId, issue_id: IssueId,
                   description: Annotated[str, Field(description="What the time was spent on")],
                   duration: Annotated[int, Field(description="Time spent, in minutes (1-1440)")]) -> dict:
    """Log time spent on an issue (project members)."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    _duration(duration, "duration")
    require(ctx, p, MEMBER, "log time")
    wid = ctx.insert("pl_worklogs", issue_id=row["id"], description=description, duration=duration,
                     logged_by_id=ctx.actor["id"], created_at=ctx.now)
    return {"id": wid, "issue": readable(p, row), "duration": duration}


@app.tool(idempotent=True)
def update_worklog(ctx, project_id: ProjectId, issue_id: IssueId, worklog_id: WorklogId,
                   worklog_data: Annotated[str, Field(description='JSON object with any of: description, duration (minutes)')]) -> dict:
    """Change a worklog's description or duration (its author, or a project admin)."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    wl = _worklog(ctx, row, worklog_id)
    data = parse_data(worklog_data, "worklog_data", WORKLOG_KEYS)
    if "duration" in data:
        _duration(data["duration"], "worklog_data.duration")
    _own_worklog(ctx, p, wl, "edit")
    ctx.update("pl_worklogs", wl["id"], **data)
    return _worklog_out(ctx, ctx.get("pl_worklogs", wl["id"]))


@app.tool(destructive=True)
def delete_worklog(ctx, project_id: ProjectId, issue_id: IssueId, worklog_id: WorklogId) -> dict:
    """Delete a worklog (its author, or a project admin)."""
    p = project(ctx, project_id)
    row = issue(ctx, p, issue_id)
    wl = _worklog(ctx, row, worklog_id)
    _own_worklog(ctx, p, wl, "delete")
    ctx.delete("pl_worklogs", wl["id"])
    return {"id": wl["id"], "deleted": True}
