"""Plane workspace and project tools: members, projects, and each project's states, labels and
issue types (the configuration that issues refer to)."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from arena.apps.plane import app
from arena.apps.plane.common import (ROLE_NAMES, ProjectId, check_color, child, parse_data, project, require,
                                     workspace_role)
from arena.apps.plane.schema import ADMIN, GUEST, MEMBER, STATE_GROUPS
from arena.core.errors import ToolError, not_found

# Plane's defaults for a new project: (name, group, colour); the first is the default state
DEFAULT_STATES = [("Backlog", "backlog", "#60646C"), ("Todo", "unstarted", "#60646C"),
                  ("In Progress", "started", "#F59E0B"), ("Done", "completed", "#46A758"),
                  ("Cancelled", "cancelled", "#9AA4BC")]
DEFAULT_TYPE = ("Task", "Default work item type")
IDENTIFIER = re.compile(r"^[A-Z0-9]{1,12}$")
PROJECT_KEYS = {"name": (str,), "description": (str,), "network": (int,), "project_lead": (str, int)}
STATE_KEYS = {"name": (str,), "color": (str,), "group": (str,), "description": (str,), "sequence": (int, float)}
LABEL_KEYS = {"name": (str,), "color": (str,), "description": (str,)}
TYPE_KEYS = {"name": (str,), "description": (str,), "is_active": (bool,)}
Name = Annotated[str, Field(description="Name", min_length=1, max_length=255)]
Color = Annotated[str, Field(description="Hex colour such as #3A86FF")]


def setup_project(ctx, pid: int, lead_id: int) -> None:
    """Default states, issue type and the lead's admin membership (create_project and the seed)."""
    for i, (name, group, color) in enumerate(DEFAULT_STATES):
        ctx.insert("pl_states", project_id=pid, name=name, color=color, state_group=group, sequence=(i + 1) * 15000.0,
                   is_default=int(i == 0))
    ctx.insert("pl_issue_types", project_id=pid, name=DEFAULT_TYPE[0], description=DEFAULT_TYPE[1], is_default=1)
    ctx.insert("pl_project_members", project_id=pid, user_id=lead_id, role=ADMIN)


def _member(ctx, row: dict) -> dict:
    return {"id": row["user_id"], "username": row["username"], "display_name": row["display_name"],
            "email": row["email"], "role": row["role"], "role_name": ROLE_NAMES[row["role"]]}


def _project_out(ctx, row: dict) -> dict:
    lead = ctx.scalar("SELECT username FROM users WHERE id = ?", row["project_lead_id"])
    return {"id": row["id"], "name": row["name"], "identifier": row["identifier"], "description": row["description"],
            "network": "secret" if row["network"] == 0 else "public", "project_lead": lead,
            "created_at": row["created_at"], "archived": row["archived_at"] is not None}


def _user(ctx, ident) -> dict:
    try:
        user = ctx.user_by(ident)
    except ToolError:
        raise not_found("workspace member", ident) from None
    if not ctx.one("SELECT 1 FROM pl_workspace_members WHERE user_id = ?", user["id"]):
        raise ToolError("rule_violation", f"{user['username']} is not a member of the Plane workspace")
    return user


# -- workspace ---------------------------------------------------------------------------------
@app.on("employee.hired")
def provision_member(ctx, user_id: int) -> None:
    """Every new employee joins the Plane workspace (admins as workspace admins)."""
    user = ctx.get("users", user_id)
    ctx.insert("pl_workspace_members", user_id=user_id, display_name=user["username"],
               role=ADMIN if user["role"] == "admin" else MEMBER, joined_at=ctx.now)


@app.tool(read_only=True)
def get_user(ctx) -> dict:
    """Your own Plane profile (the user the tools act as)."""
    role = workspace_role(ctx)
    u = ctx.actor
    return {"id": u["id"], "username": u["username"], "display_name": u["username"], "first_name": u["first_name"],
            "last_name": u["last_name"], "email": u["email"], "workspace_role": ROLE_NAMES[role]}


@app.tool(read_only=True)
def get_workspace_members(ctx) -> dict:
    """All members of the workspace with their roles (admin, member, guest)."""
    # shaped in SQL: the list holds every employee, so no per-row Python
    rows = ctx.all("SELECT m.user_id AS id, u.username, m.display_name, u.email, m.role, "
                   f"CASE m.role WHEN {ADMIN} THEN 'admin' WHEN {MEMBER} THEN 'member' ELSE 'guest' END AS role_name "
                   "FROM pl_workspace_members m JOIN users u ON u.id = m.user_id WHERE u.status = 'active' "
                   "ORDER BY u.username")
    return {"members": rows}


# -- projects ----------------------------------------------------------------------------------
@app.tool(read_only=True)
def get_projects(ctx) -> dict:
    """Projects you can see: public ones and secret ones you belong to."""
    is_admin = workspace_role(ctx) == ADMIN
    rows = ctx.all("SELECT p.*, EXISTS (SELECT 1 FROM pl_project_members m WHERE m.project_id = p.id AND m.user_id = ?) "
                   "AS is_member FROM pl_projects p ORDER BY p.identifier", ctx.actor["id"])
    return {"projects": [{**_project_out(ctx, r), "is_member": bool(r["is_member"])}
                         for r in rows if r["network"] == 2 or r["is_member"] or is_admin]}


@app.tool(returns={"id": "integer", "identifier": "string", "name": "string"})
def create_project(ctx, name: Annotated[str, Field(description="Project name (unique in the workspace)", min_length=1, max_length=255)],
                   identifier: Annotated[str | None, Field(description="Short upper-case key used in issue ids, e.g. WEB (default: derived from the name)")] = None) -> dict:
    """Create a project with Plane's default states (Backlog, Todo, In Progress, Done, Cancelled)
    and a default issue type; you become its lead and admin."""
    if workspace_role(ctx) < MEMBER:
        raise ToolError("permission_denied", "workspace guests may not create projects")
    if ctx.one("SELECT 1 FROM pl_projects WHERE lower(name) = lower(?)", name.strip()):
        raise ToolError("conflict", f"a project named {name.strip()!r} already exists", field="name")
    if identifier is not None:
        ident = identifier.strip().upper()
        if not IDENTIFIER.match(ident):
            raise ToolError("invalid_arguments", f"identifier: {identifier!r} must be 1-12 letters or digits",
                            field="identifier")
        if ctx.one("SELECT 1 FROM pl_projects WHERE identifier = ?", ident):
            raise ToolError("conflict", f"project identifier {ident} is already taken", field="identifier")
    else:
        words = re.findall(r"[A-Za-z0-9]+", name.upper())
        base = ("".join(w[0] for w in words) if len(words) > 1 else (words or ["PRJ"])[0])[:5] or "PRJ"
        ident, n = base, 1
        while ctx.one("SELECT 1 FROM pl_projects WHERE identifier = ?", ident):
            n += 1
            ident = f"{base}{n}"
    pid = ctx.insert("pl_projects", name=name.strip(), identifier=ident, network=2, project_lead_id=ctx.actor["id"],
                     created_by=ctx.actor["id"], created_at=ctx.now)
    setup_project(ctx, pid, ctx.actor["id"])
    return {"id": pid, "identifier": ident, "name": name.strip()}


@app.tool(read_only=True)
def get_project(ctx, project_id: ProjectId) -> dict:
    """One project with its counts of issues, members, cycles and modules."""
    p = project(ctx, project_id)
    counts = ctx.one(
        "SELECT (SELECT COUNT(*) FROM pl_issues WHERE project_id = ?1) AS issues, "
        "(SELECT COUNT(*) FROM pl_project_members WHERE project_id = ?1) AS members, "
        "(SELECT COUNT(*) FROM pl_cycles WHERE project_id = ?1) AS cycles, "
        "(SELECT COUNT(*) FROM pl_modules WHERE project_id = ?1) AS modules", p["id"])
    return {**_project_out(ctx, p), **counts}


@app.tool(idempotent=True)
def update_project(ctx, project_id: ProjectId,
                   project_data: Annotated[str, Field(description='JSON object with any of: name, description, network (0 secret, 2 public), project_lead (user id, username or email)')]) -> dict:
    """Change a project's name, description, visibility or lead (project admins)."""
    p = project(ctx, project_id)
    data = parse_data(project_data, "project_data", PROJECT_KEYS)
    require(ctx, p, ADMIN, "edit the project")
    values: dict = {}
    if "name" in data:
        if not data["name"].strip():
            raise ToolError("invalid_arguments", "project_data.name: must not be empty", field="project_data.name")
        if ctx.one("SELECT 1 FROM pl_projects WHERE lower(name) = lower(?) AND id != ?", data["name"].strip(), p["id"]):
            raise ToolError("conflict", f"a project named {data['name']!r} already exists")
        values["name"] = data["name"].strip()
    if "description" in data:
        values["description"] = data["description"]
    if "network" in data:
        if data["network"] not in (0, 2):
            raise ToolError("invalid_arguments", "project_data.network: 0 (secret) or 2 (public)",
                            field="project_data.network")
        values["network"] = data["network"]
    if "project_lead" in data:
        lead = _user(ctx, data["project_lead"])
        values["project_lead_id"] = lead["id"]
        ctx.db.execute("INSERT OR IGNORE INTO pl_project_members (project_id, user_id, role) VALUES (?, ?, ?)",
                       (p["id"], lead["id"], ADMIN))
    ctx.update("pl_projects", p["id"], **values)
    return _project_out(ctx, ctx.get("pl_projects", p["id"]))


@app.tool(read_only=True)
def list_project_members(ctx, project_id: ProjectId) -> dict:
    """Members of a project with their project roles."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT m.user_id, m.role, u.username, u.email, u.username AS display_name FROM pl_project_members m "
                   "JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY u.username", p["id"])
    return {"project": p["identifier"], "members": [_member(ctx, r) for r in rows]}


@app.tool(idempotent=True)
def add_project_member(ctx, project_id: ProjectId,
                       member: Annotated[str, Field(description="User id, username or email of a workspace member")],
                       role: Annotated[int, Field(description="Project role: 20 admin, 15 member, 5 guest")] = MEMBER) -> dict:
    """Add a workspace member to a project, or change their project role (project admins)."""
    p = project(ctx, project_id)
    if role not in ROLE_NAMES:
        raise ToolError("invalid_arguments", f"role: {role} is not 20, 15 or 5", field="role")
    require(ctx, p, ADMIN, "manage project members")
    user = _user(ctx, member)
    if user["status"] != "active":
        raise ToolError("rule_violation", f"{user['username']} has left the company")
    if role > workspace_role_of(ctx, user["id"]):
        raise ToolError("rule_violation", f"{user['username']}'s project role cannot exceed their workspace role")
    current = ctx.one("SELECT id FROM pl_project_members WHERE project_id = ? AND user_id = ?", p["id"], user["id"])
    if current:
        ctx.update("pl_project_members", current["id"], role=role)
    else:
        ctx.insert("pl_project_members", project_id=p["id"], user_id=user["id"], role=role)
    return {"project": p["identifier"], "username": user["username"], "role": role, "role_name": ROLE_NAMES[role]}


def workspace_role_of(ctx, user_id: int) -> int:
    return ctx.scalar("SELECT role FROM pl_workspace_members WHERE user_id = ?", user_id) or GUEST


# -- issue types -------------------------------------------------------------------------------
def _type_out(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"],
            "is_default": bool(row["is_default"]), "is_active": bool(row["is_active"])}


TypeId = Annotated[str, Field(description="Issue type id")]


@app.tool(read_only=True)
def list_issue_types(ctx, project_id: ProjectId) -> dict:
    """The issue types of a project (e.g. Task, Bug, Feature)."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT * FROM pl_issue_types WHERE project_id = ? ORDER BY id", p["id"])
    return {"project": p["identifier"], "issue_types": [_type_out(r) for r in rows]}


@app.tool(read_only=True)
def get_issue_type(ctx, project_id: ProjectId, type_id: TypeId) -> dict:
    """One issue type with the number of issues using it."""
    p = project(ctx, project_id)
    t = child(ctx, "pl_issue_types", "issue type", p, type_id)
    return {**_type_out(t), "issues": ctx.scalar("SELECT COUNT(*) FROM pl_issues WHERE type_id = ?", t["id"])}


@app.tool(returns={"id": "integer", "name": "string"})
def create_issue_type(ctx, project_id: ProjectId, name: Name,
                      description: Annotated[str, Field(description="What this type of work item is for")]) -> dict:
    """Add an issue type to a project (project admins)."""
    p = project(ctx, project_id)
    require(ctx, p, ADMIN, "create issue types")
    if ctx.one("SELECT 1 FROM pl_issue_types WHERE project_id = ? AND lower(name) = lower(?)", p["id"], name.strip()):
        raise ToolError("conflict", f"issue type {name!r} already exists in {p['identifier']}")
    tid = ctx.insert("pl_issue_types", project_id=p["id"], name=name.strip(), description=description)
    return {"id": tid, "name": name.strip()}


@app.tool(idempotent=True)
def update_issue_type(ctx, project_id: ProjectId, type_id: TypeId,
                      issue_type_data: Annotated[str, Field(description='JSON object with any of: name, description, is_active')]) -> dict:
    """Rename, describe or (de)activate an issue type (project admins)."""
    p = project(ctx, project_id)
    t = child(ctx, "pl_issue_types", "issue type", p, type_id)
    data = parse_data(issue_type_data, "issue_type_data", TYPE_KEYS)
    require(ctx, p, ADMIN, "edit issue types")
    if data.get("is_active") is False and t["is_default"]:
        raise ToolError("rule_violation", "the default issue type cannot be deactivated")
    if "name" in data and ctx.one("SELECT 1 FROM pl_issue_types WHERE project_id = ? AND lower(name) = lower(?) "
                                  "AND id != ?", p["id"], data["name"].strip(), t["id"]):
        raise ToolError("conflict", f"issue type {data['name']!r} already exists in {p['identifier']}")
    values = {k: (int(v) if k == "is_active" else v.strip() if k == "name" else v) for k, v in data.items()}
    ctx.update("pl_issue_types", t["id"], **values)
    return _type_out(ctx.get("pl_issue_types", t["id"]))


@app.tool(destructive=True)
def delete_issue_type(ctx, project_id: ProjectId, type_id: TypeId) -> dict:
    """Delete an issue type that no issue uses (project admins; the default type stays)."""
    p = project(ctx, project_id)
    t = child(ctx, "pl_issue_types", "issue type", p, type_id)
    require(ctx, p, ADMIN, "delete issue types")
    if t["is_default"]:
        raise ToolError("rule_violation", "the default issue type cannot be deleted")
    used = ctx.scalar("SELECT COUNT(*) FROM pl_issues WHERE type_id = ?", t["id"])
    if used:
        raise ToolError("rule_violation", f"issue type {t['name']!r} is used by {used} issue(s)", issues=used)
    ctx.delete("pl_issue_types", t["id"])
    return {"id": t["id"], "deleted": True}


# -- states ------------------------------------------------------------------------------------
StateId = Annotated[str, Field(description="State id (or its name)")]


def _state_out(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "color": row["color"], "group": row["state_group"],
            "description": row["description"], "sequence": row["sequence"], "default": bool(row["is_default"])}


@app.tool(read_only=True)
def list_states(ctx, project_id: ProjectId) -> dict:
    """The workflow states of a project in board order, each in a group (backlog, unstarted,
    started, completed, cancelled)."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT * FROM pl_states WHERE project_id = ? ORDER BY sequence, id", p["id"])
    return {"project": p["identifier"], "states": [_state_out(r) for r in rows]}


@app.tool(read_only=True)
def get_state(ctx, project_id: ProjectId, state_id: StateId) -> dict:
    """One state with the number of issues in it."""
    p = project(ctx, project_id)
    s = child(ctx, "pl_states", "state", p, state_id)
    return {**_state_out(s), "issues": ctx.scalar("SELECT COUNT(*) FROM pl_issues WHERE state_id = ?", s["id"])}


@app.tool(returns={"id": "integer", "name": "string", "group": "string"})
def create_state(ctx, project_id: ProjectId, name: Name, color: Color) -> dict:
    """Add a state to a project's workflow, in the backlog group (change it with update_state);
    project admins."""
    p = project(ctx, project_id)
    color = check_color(color)
    require(ctx, p, ADMIN, "create states")
    if ctx.one("SELECT 1 FROM pl_states WHERE project_id = ? AND lower(name) = lower(?)", p["id"], name.strip()):
        raise ToolError("conflict", f"state {name!r} already exists in {p['identifier']}")
    seq = (ctx.scalar("SELECT MAX(sequence) FROM pl_states WHERE project_id = ?", p["id"]) or 0) + 15000
    sid = ctx.insert("pl_states", project_id=p["id"], name=name.strip(), color=color, state_group="backlog", sequence=seq)
    return {"id": sid, "name": name.strip(), "group": "backlog"}


@app.tool(idempotent=True)
def update_state(ctx, project_id: ProjectId, state_id: StateId,
                 state_data: Annotated[str, Field(description='JSON object with any of: name, color, group (backlog|unstarted|started|completed|cancelled), description, sequence')]) -> dict:
    """Change a state's name, colour, group, description or board position (project admins)."""
    p = project(ctx, project_id)
    s = child(ctx, "pl_states", "state", p, state_id)
    data = parse_data(state_data, "state_data", STATE_KEYS)
    require(ctx, p, ADMIN, "edit states")
    if "group" in data and data["group"] not in STATE_GROUPS:
        raise ToolError("invalid_arguments", f"state_data.group: {data['group']!r} is not one of "
                        f"{', '.join(STATE_GROUPS)}", field="state_data.group")
    if "color" in data:
        data["color"] = check_color(data["color"], "state_data.color")
    if "name" in data:
        data["name"] = data["name"].strip()
        if not data["name"] or ctx.one("SELECT 1 FROM pl_states WHERE project_id = ? AND lower(name) = lower(?) "
                                       "AND id != ?", p["id"], data["name"], s["id"]):
            raise ToolError("conflict", f"state {data['name']!r} already exists in {p['identifier']}")
    if "group" in data:
        data["state_group"] = data.pop("group")
    ctx.update("pl_states", s["id"], **data)
    return _state_out(ctx.get("pl_states", s["id"]))


@app.tool(destructive=True)
def delete_state(ctx, project_id: ProjectId, state_id: StateId) -> dict:
    """Delete an empty, non-default state (project admins). Move its issues elsewhere first."""
    p = project(ctx, project_id)
    s = child(ctx, "pl_states", "state", p, state_id)
    require(ctx, p, ADMIN, "delete states")
    if s["is_default"]:
        raise ToolError("rule_violation", f"{s['name']!r} is the project's default state and cannot be deleted")
    n = ctx.scalar("SELECT COUNT(*) FROM pl_issues WHERE state_id = ?", s["id"])
    if n:
        raise ToolError("rule_violation", f"state {s['name']!r} still holds {n} issue(s); only empty states can be "
                        "deleted", issues=n)
    ctx.delete("pl_states", s["id"])
    return {"id": s["id"], "deleted": True}


# -- labels ------------------------------------------------------------------------------------
LabelId = Annotated[str, Field(description="Label id (or its name)")]


def _label_out(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "color": row["color"], "description": row["description"]}


@app.tool(read_only=True)
def list_labels(ctx, project_id: ProjectId) -> dict:
    """The labels of a project."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT * FROM pl_labels WHERE project_id = ? ORDER BY name", p["id"])
    return {"project": p["identifier"], "labels": [_label_out(r) for r in rows]}


@app.tool(read_only=True)
def get_label(ctx, project_id: ProjectId, label_id: LabelId) -> dict:
    """One label with the number of issues carrying it."""
    p = project(ctx, project_id)
    lb = child(ctx, "pl_labels", "label", p, label_id)
    return {**_label_out(lb), "issues": ctx.scalar("SELECT COUNT(*) FROM pl_issue_labels WHERE label_id = ?", lb["id"])}


@app.tool(returns={"id": "integer", "name": "string"})
def create_label(ctx, project_id: ProjectId, name: Name, color: Color) -> dict:
    """Add a label to a project (project members)."""
    p = project(ctx, project_id)
    color = check_color(color)
    require(ctx, p, MEMBER, "create labels")
    if ctx.one("SELECT 1 FROM pl_labels WHERE project_id = ? AND lower(name) = lower(?)", p["id"], name.strip()):
        raise ToolError("conflict", f"label {name!r} already exists in {p['identifier']}")
    lid = ctx.insert("pl_labels", project_id=p["id"], name=name.strip(), color=color)
    return {"id": lid, "name": name.strip()}


@app.tool(idempotent=True)
def update_label(ctx, project_id: ProjectId, label_id: LabelId,
                 label_data: Annotated[str, Field(description='JSON object with any of: name, color, description')]) -> dict:
    """Rename, recolour or describe a label (project members)."""
    p = project(ctx, project_id)
    lb = child(ctx, "pl_labels", "label", p, label_id)
    data = parse_data(label_data, "label_data", LABEL_KEYS)
    require(ctx, p, MEMBER, "edit labels")
    if "color" in data:
        data["color"] = check_color(data["color"], "label_data.color")
    if "name" in data:
        data["name"] = data["name"].strip()
        if not data["name"] or ctx.one("SELECT 1 FROM pl_labels WHERE project_id = ? AND lower(name) = lower(?) "
                                       "AND id != ?", p["id"], data["name"], lb["id"]):
            raise ToolError("conflict", f"label {data['name']!r} already exists in {p['identifier']}")
    ctx.update("pl_labels", lb["id"], **data)
    return _label_out(ctx.get("pl_labels", lb["id"]))


@app.tool(destructive=True)
def delete_label(ctx, project_id: ProjectId, label_id: LabelId) -> dict:
    """Delete a label; it is removed from every issue that had it (project admins)."""
    p = project(ctx, project_id)
    lb = child(ctx, "pl_labels", "label", p, label_id)
    require(ctx, p, ADMIN, "delete labels")
    n = ctx.db.execute("DELETE FROM pl_issue_labels WHERE label_id = ?", (lb["id"],)).rowcount
    ctx.delete("pl_labels", lb["id"])
    return {"id": lb["id"], "deleted": True, "removed_from_issues": n}
