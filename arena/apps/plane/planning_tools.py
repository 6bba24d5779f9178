"""Plane planning tools: modules (feature groups of issues) and cycles (time-boxed sprints)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from arena.apps.plane import app
from arena.apps.plane.common import (ProjectId, check_range, child, issue, parse_data, parse_date, parse_id_list,
                                     project, readable, require)
from arena.apps.plane.project_tools import _user
from arena.apps.plane.schema import ADMIN, MEMBER, MODULE_STATUSES
from arena.apps.plane.tools import ISSUE_RETURNS, DescriptionHtml, IssueName, issue_summary, list_issue_rows, new_issue
from arena.core.errors import ToolError

MODULE_KEYS = {"name": (str,), "description": (str,), "status": (str,), "start_date": (str, type(None)),
               "target_date": (str, type(None)), "lead": (str, int, type(None))}
CYCLE_KEYS = {"name": (str,), "description": (str,), "start_date": (str,), "end_date": (str,)}
ModuleId = Annotated[str, Field(description="Module id (or its name)")]
CycleId = Annotated[str, Field(description="Cycle id (or its name)")]
IssueList = Annotated[str, Field(description='Issues as a JSON array or comma-separated list of ids or readable ids, e.g. ["WEB-3", "WEB-7"]')]
IssueId = Annotated[str, Field(description='Issue id, or its readable identifier such as "WEB-12"')]


# -- modules -----------------------------------------------------------------------------------
def _module_out(ctx, row: dict) -> dict:
    counts = ctx.one("SELECT COUNT(*) AS total, SUM(s.state_group = 'completed') AS completed FROM pl_module_issues mi "
                     "JOIN pl_issues i ON i.id = mi.issue_id JOIN pl_states s ON s.id = i.state_id "
                     "WHERE mi.module_id = ?", row["id"])
    return {"id": row["id"], "name": row["name"], "description": row["description"], "status": row["status"],
            "lead": ctx.scalar("SELECT username FROM users WHERE id = ?", row["lead_id"]),
            "start_date": row["start_date"], "target_date": row["target_date"],
            "total_issues": counts["total"], "completed_issues": counts["completed"] or 0}


@app.tool(read_only=True)
def list_modules(ctx, project_id: ProjectId) -> dict:
    """The modules of a project with their progress."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT * FROM pl_modules WHERE project_id = ? ORDER BY id LIMIT 200", p["id"])
    return {"project": p["identifier"], "modules": [_module_out(ctx, r) for r in rows]}


@app.tool(read_only=True)
def get_module(ctx, project_id: ProjectId, module_id: ModuleId) -> dict:
    """One module with its progress."""
    p = project(ctx, project_id)
    return _module_out(ctx, child(ctx, "pl_modules", "module", p, module_id))


@app.tool(returns={"id": "integer", "name": "string"})
def create_module(ctx, project_id: ProjectId,
                  name: Annotated[str, Field(description="Module name (unique in the project)", min_length=1, max_length=255)]) -> dict:
    """Create a module (a group of issues for one feature or deliverable) in planned status."""
    p = project(ctx, project_id)
    require(ctx, p, MEMBER, "create modules")
    if ctx.one("SELECT 1 FROM pl_modules WHERE project_id = ? AND lower(name) = lower(?)", p["id"], name.strip()):
        raise ToolError("conflict", f"module {name!r} already exists in {p['identifier']}")
    mid = ctx.insert("pl_modules", project_id=p["id"], name=name.strip(), status="planned", created_at=ctx.now)
    return {"id": mid, "name": name.strip()}


@app.tool(idempotent=True)
def update_module(ctx, project_id: ProjectId, module_id: ModuleId,
                  module_data: Annotated[str, Field(description='JSON object with any of: name, description, status (backlog|planned|in-progress|paused|completed|cancelled), start_date, target_date (YYYY-MM-DD), lead (user)')]) -> dict:
    """Change a module's name, description, status, dates or lead."""
    p = project(ctx, project_id)
    m = child(ctx, "pl_modules", "module", p, module_id)
    data = parse_data(module_data, "module_data", MODULE_KEYS)
    require(ctx, p, MEMBER, "edit modules")
    values: dict = {}
    if "name" in data:
        values["name"] = data["name"].strip()
        if not values["name"] or ctx.one("SELECT 1 FROM pl_modules WHERE project_id = ? AND lower(name) = lower(?) "
                                         "AND id != ?", p["id"], values["name"], m["id"]):
            raise ToolError("conflict", f"module {data['name']!r} already exists in {p['identifier']}")
    if "description" in data:
        values["description"] = data["description"]
    if "status" in data:
        if data["status"] not in MODULE_STATUSES:
            raise ToolError("invalid_arguments", f"module_data.status: {data['status']!r} is not one of "
                            f"{', '.join(MODULE_STATUSES)}", field="module_data.status")
        values["status"] = data["status"]
    for key in ("start_date", "target_date"):
        if key in data:
            values[key] = parse_date(data[key], f"module_data.{key}")
    check_range(values.get("start_date", m["start_date"]), values.get("target_date", m["target_date"]), "module",
                "start_date", "target_date")
    if "lead" in data:
        values["lead_id"] = _user(ctx, data["lead"])["id"] if data["lead"] is not None else None
    ctx.update("pl_modules", m["id"], **values)
    return _module_out(ctx, ctx.get("pl_modules", m["id"]))


@app.tool(destructive=True)
def delete_module(ctx, project_id: ProjectId, module_id: ModuleId) -> dict:
    """Delete a module; its issues stay in the project (project admins)."""
    p = project(ctx, project_id)
    m = child(ctx, "pl_modules", "module", p, module_id)
    require(ctx, p, ADMIN, "delete modules")
    ctx.db.execute("DELETE FROM pl_module_issues WHERE module_id = ?", (m["id"],))
    ctx.delete("pl_modules", m["id"])
    return {"id": m["id"], "deleted": True}


@app.tool(read_only=True)
def list_module_issues(ctx, project_id: ProjectId, module_id: ModuleId) -> dict:
    """The issues in a module."""
    p = project(ctx, project_id)
    m = child(ctx, "pl_modules", "module", p, module_id)
    rows = list_issue_rows(ctx, "i.id IN (SELECT issue_id FROM pl_module_issues WHERE module_id = ?)", m["id"],
                           limit=200)
    return {"module": m["name"], "issues": [issue_summary(p, r) for r in rows]}


@app.tool(idempotent=True)
def add_module_issues(ctx, project_id: ProjectId, module_id: ModuleId, issues: IssueList) -> dict:
    """Add issues of the same project to a module (an issue may be in several modules)."""
    p = project(ctx, project_id)
    m = child(ctx, "pl_modules", "module", p, module_id)
    keys = parse_id_list(issues, "issues")
    require(ctx, p, MEMBER, "change module issues")
    rows = [issue(ctx, p, k) for k in keys]
    added = []
    for row in rows:
        cur = ctx.db.execute("INSERT OR IGNORE INTO pl_module_issues (module_id, issue_id) VALUES (?, ?)",
                             (m["id"], row["id"]))
        if cur.rowcount:
            added.append(readable(p, row))
    return {"module": m["name"], "added": added, "already_in_module": [readable(p, r) for r in rows
                                                                      if readable(p, r) not in added]}


@app.tool(destructive=True, idempotent=True)
def delete_module_issue(ctx, project_id: ProjectId, module_id: ModuleId, issue_id: IssueId) -> dict:
    """Take an issue out of a module (the issue itself stays)."""
    p = project(ctx, project_id)
    m = child(ctx, "pl_modules", "module", p, module_id)
    row = issue(ctx, p, issue_id)
    require(ctx, p, MEMBER, "change module issues")
    n = ctx.db.execute("DELETE FROM pl_module_issues WHERE module_id = ? AND issue_id = ?", (m["id"], row["id"])).rowcount
    if not n:
        raise ToolError("not_found", f"{readable(p, row)} is not in module {m['name']!r}", entity="module issue",
                        key=readable(p, row))
    return {"module": m["name"], "removed": readable(p, row)}


# -- cycles ------------------------------------------------------------------------------------
def cycle_status(ctx, row: dict) -> str:
    if row["end_date"] < ctx.today:
        return "completed"
    return "upcoming" if row["start_date"] > ctx.today else "current"


def _cycle_out(ctx, row: dict) -> dict:
    counts = ctx.one("SELECT COUNT(*) AS total, SUM(s.state_group = 'completed') AS completed, "
                     "SUM(s.state_group = 'cancelled') AS cancelled FROM pl_cycle_issues ci JOIN pl_issues i ON "
                     "i.id = ci.issue_id JOIN pl_states s ON s.id = i.state_id WHERE ci.cycle_id = ?", row["id"])
    return {"id": row["id"], "name": row["name"], "description": row["description"], "start_date": row["start_date"],
            "end_date": row["end_date"], "status": cycle_status(ctx, row),
            "owned_by": ctx.scalar("SELECT username FROM users WHERE id = ?", row["owned_by_id"]),
            "total_issues": counts["total"], "completed_issues": counts["completed"] or 0,
            "cancelled_issues": counts["cancelled"] or 0}


def _check_cycle_dates(ctx, proj: dict, start: str, end: str, cycle_id: int | None) -> None:
    check_range(start, end, "cycle", "start_date", "end_date")
    clash = ctx.one("SELECT name FROM pl_cycles WHERE project_id = ? AND id != ? AND start_date <= ? AND end_date >= ?",
                    proj["id"], cycle_id or -1, end, start)
    if clash:
        raise ToolError("rule_violation", f"cycle dates {start}..{end} overlap cycle {clash['name']!r} "
                        f"of {proj['identifier']}", overlaps=clash["name"])


def _open_cycle(ctx, row: dict) -> None:
    if cycle_status(ctx, row) == "completed":
        raise ToolError("rule_violation", f"cycle {row['name']!r} ended on {row['end_date']}; a completed cycle "
                        "takes no new issues", cycle=row["name"])


def _add_to_cycle(ctx, cycle: dict, issue_ids: list[int]) -> None:
    """Plane keeps an issue in one cycle: adding it here moves it out of any other."""
    # no UPSERT here: its conflict handling overrides the change-tracking triggers' OR IGNORE
    marks = ", ".join("?" for _ in issue_ids)
    ctx.db.execute(f"UPDATE pl_cycle_issues SET cycle_id = ? WHERE issue_id IN ({marks}) AND cycle_id != ?",
                   (cycle["id"], *issue_ids, cycle["id"]))
    ctx.db.executemany("INSERT OR IGNORE INTO pl_cycle_issues (cycle_id, issue_id) VALUES (?, ?)",
                       [(cycle["id"], i) for i in issue_ids])


@app.tool(read_only=True)
def list_cycles(ctx, project_id: ProjectId) -> dict:
    """The cycles (sprints) of a project with dates, status (upcoming, current, completed) and progress."""
    p = project(ctx, project_id)
    rows = ctx.all("SELECT * FROM pl_cycles WHERE project_id = ? ORDER BY start_date LIMIT 200", p["id"])
    return {"project": p["identifier"], "cycles": [_cycle_out(ctx, r) for r in rows]}


@app.tool(read_only=True)
def get_cycle(ctx, project_id: ProjectId, cycle_id: CycleId) -> dict:
    """One cycle with its progress."""
    p = project(ctx, project_id)
    return _cycle_out(ctx, child(ctx, "pl_cycles", "cycle", p, cycle_id))


@app.tool(returns={"id": "integer", "name": "string", "status": "string"})
def create_cycle(ctx, project_id: ProjectId,
                 name: Annotated[str, Field(description="Cycle name, e.g. Sprint 14", min_length=1, max_length=255)],
                 start_date: Annotated[str, Field(description="First day (YYYY-MM-DD)")],
                 end_date: Annotated[str, Field(description="Last day (YYYY-MM-DD), not before start_date")]) -> dict:
    """Create a cycle (sprint). Its end may not precede its start, and cycles of one project may
    not overlap."""
    p = project(ctx, project_id)
    start, end = parse_date(start_date, "start_date"), parse_date(end_date, "end_date")
    if start is None or end is None:
        raise ToolError("invalid_arguments", "start_date and end_date are both required", field="start_date")
    require(ctx, p, MEMBER, "create cycles")
    if ctx.one("SELECT 1 FROM pl_cycles WHERE project_id = ? AND lower(name) = lower(?)", p["id"], name.strip()):
        raise ToolError("conflict", f"cycle {name!r} already exists in {p['identifier']}")
    _check_cycle_dates(ctx, p, start, end, None)
    cid = ctx.insert("pl_cycles", project_id=p["id"], name=name.strip(), start_date=start, end_date=end,
                     owned_by_id=ctx.actor["id"], created_at=ctx.now)
    return {"id": cid, "name": name.strip(), "status": cycle_status(ctx, {"start_date": start, "end_date": end})}


@app.tool(idempotent=True)
def update_cycle(ctx, project_id: ProjectId, cycle_id: CycleId,
                 cycle_data: Annotated[str, Field(description='JSON object with any of: name, description, start_date, end_date (YYYY-MM-DD)')]) -> dict:
    """Rename, describe or re-date a cycle (dates keep end >= start and no overlap)."""
    p = project(ctx, project_id)
    c = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    data = parse_data(cycle_data, "cycle_data", CYCLE_KEYS)
    require(ctx, p, MEMBER, "edit cycles")
    values: dict = {}
    if "name" in data:
        values["name"] = data["name"].strip()
        if not values["name"] or ctx.one("SELECT 1 FROM pl_cycles WHERE project_id = ? AND lower(name) = lower(?) "
                                         "AND id != ?", p["id"], values["name"], c["id"]):
            raise ToolError("conflict", f"cycle {data['name']!r} already exists in {p['identifier']}")
    if "description" in data:
        values["description"] = data["description"]
    for key in ("start_date", "end_date"):
        if key in data:
            values[key] = parse_date(data[key], f"cycle_data.{key}")
            if values[key] is None:
                raise ToolError("invalid_arguments", f"cycle_data.{key}: a cycle needs both dates",
                                field=f"cycle_data.{key}")
    if "start_date" in values or "end_date" in values:
        _check_cycle_dates(ctx, p, values.get("start_date", c["start_date"]), values.get("end_date", c["end_date"]),
                           c["id"])
    ctx.update("pl_cycles", c["id"], **values)
    return _cycle_out(ctx, ctx.get("pl_cycles", c["id"]))


@app.tool(destructive=True)
def delete_cycle(ctx, project_id: ProjectId, cycle_id: CycleId) -> dict:
    """Delete a cycle; its issues stay in the project (project admins)."""
    p = project(ctx, project_id)
    c = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    require(ctx, p, ADMIN, "delete cycles")
    ctx.db.execute("DELETE FROM pl_cycle_issues WHERE cycle_id = ?", (c["id"],))
    ctx.delete("pl_cycles", c["id"])
    return {"id": c["id"], "deleted": True}


@app.tool(read_only=True)
def list_cycle_issues(ctx, project_id: ProjectId, cycle_id: CycleId) -> dict:
    """The issues in a cycle."""
    p = project(ctx, project_id)
    c = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    rows = list_issue_rows(ctx, "i.id IN (SELECT issue_id FROM pl_cycle_issues WHERE cycle_id = ?)", c["id"], limit=200)
    return {"cycle": c["name"], "issues": [issue_summary(p, r) for r in rows]}


@app.tool(idempotent=True)
def add_cycle_issues(ctx, project_id: ProjectId, cycle_id: CycleId, issues: IssueList) -> dict:
    """Add issues to a cycle that has not ended; an issue in another cycle moves to this one."""
    p = project(ctx, project_id)
    c = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    keys = parse_id_list(issues, "issues")
    require(ctx, p, MEMBER, "change cycle issues")
    _open_cycle(ctx, c)
    rows = [issue(ctx, p, k) for k in keys]
    _add_to_cycle(ctx, c, [r["id"] for r in rows])
    return {"cycle": c["name"], "issues": [readable(p, r) for r in rows]}


@app.tool(destructive=True, idempotent=True)
def delete_cycle_issue(ctx, project_id: ProjectId, cycle_id: CycleId, issue_id: IssueId) -> dict:
    """Take an issue out of a cycle (the issue itself stays)."""
    p = project(ctx, project_id)
    c = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    row = issue(ctx, p, issue_id)
    require(ctx, p, MEMBER, "change cycle issues")
    n = ctx.db.execute("DELETE FROM pl_cycle_issues WHERE cycle_id = ? AND issue_id = ?", (c["id"], row["id"])).rowcount
    if not n:
        raise ToolError("not_found", f"{readable(p, row)} is not in cycle {c['name']!r}", entity="cycle issue",
                        key=readable(p, row))
    return {"cycle": c["name"], "removed": readable(p, row)}


@app.tool(returns=ISSUE_RETURNS)
def create_cycle_issue(ctx, project_id: ProjectId, cycle_id: CycleId, name: IssueName,
                       description_html: DescriptionHtml) -> dict:
    """Create an issue directly inside a cycle that has not ended."""
    p = project(ctx, project_id)
    c = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    _open_cycle(ctx, c)
    out = new_issue(ctx, p, {"name": name, "description_html": description_html})
    _add_to_cycle(ctx, c, [out["id"]])
    return {**out, "cycle": c["name"]}


@app.tool(idempotent=True)
def transfer_cycle_issues(ctx, project_id: ProjectId, cycle_id: CycleId,
                          new_cycle_id: Annotated[str, Field(description="Cycle to move the unfinished issues to (id or name)")]) -> dict:
    """Move a cycle's unfinished issues (not completed or cancelled) to another cycle that has not
    ended, as Plane does when a sprint closes."""
    p = project(ctx, project_id)
    src = child(ctx, "pl_cycles", "cycle", p, cycle_id)
    dst = child(ctx, "pl_cycles", "cycle", p, new_cycle_id)
    if src["id"] == dst["id"]:
        raise ToolError("invalid_arguments", "new_cycle_id: must differ from cycle_id", field="new_cycle_id")
    require(ctx, p, MEMBER, "transfer cycle issues")
    _open_cycle(ctx, dst)
    rows = ctx.all("SELECT i.id, i.sequence_id FROM pl_cycle_issues ci JOIN pl_issues i ON i.id = ci.issue_id "
                   "JOIN pl_states s ON s.id = i.state_id WHERE ci.cycle_id = ? "
                   "AND s.state_group NOT IN ('completed', 'cancelled') ORDER BY i.sequence_id", src["id"])
    _add_to_cycle(ctx, dst, [r["id"] for r in rows])
    return {"from_cycle": src["name"], "to_cycle": dst["name"], "moved": [readable(p, r) for r in rows]}
