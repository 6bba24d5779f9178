"""What every Plane tool needs: resolving projects/issues/states by the ids agents pass, role
checks, parsing the JSON-text `*_data` parameters of the Plane MCP server, and result shapes."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any

from pydantic import Field

from arena.apps.plane.schema import ADMIN, GUEST, MEMBER
from arena.core.errors import ToolError, not_found

ProjectId = Annotated[str, Field(description='Project id, its identifier such as "WEB", or its name')]
IssueId = Annotated[str, Field(description='Issue id, or its readable identifier such as "WEB-12"')]
ROLE_NAMES = {ADMIN: "admin", MEMBER: "member", GUEST: "guest"}
HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
READABLE = re.compile(r"^([A-Za-z0-9]{1,12})-(\d+)$")


# -- permissions -------------------------------------------------------------------------
def workspace_role(ctx) -> int:
    row = ctx.one("SELECT role FROM pl_workspace_members WHERE user_id = ?", ctx.actor["id"])
    if row is None:
        raise ToolError("permission_denied", f"{ctx.actor['username']} is not a member of the Plane workspace")
    return row["role"]


def project_role(ctx, project: dict) -> int | None:
    """The actor's effective role in a project: workspace admins act as project admins."""
    if workspace_role(ctx) == ADMIN:
        return ADMIN
    return ctx.scalar("SELECT role FROM pl_project_members WHERE project_id = ? AND user_id = ?",
                      project["id"], ctx.actor["id"])


def require(ctx, project: dict, min_role: int, action: str) -> None:
    role = project_role(ctx, project)
    if role is None or role < min_role:
        have = "not a project member" if role is None else ROLE_NAMES[role]
        raise ToolError("permission_denied",
                        f"{ctx.actor['username']} ({have} of {project['identifier']}) may not {action}; "
                        f"needs project {ROLE_NAMES[min_role]}", required_role=ROLE_NAMES[min_role])


# -- lookups -----------------------------------------------------------------------------
def project(ctx, project_id: str) -> dict:
    key = str(project_id).strip()
    row = None
    if key.isdigit():
        row = ctx.one("SELECT * FROM pl_projects WHERE id = ?", int(key))
    if row is None:
        row = ctx.one("SELECT * FROM pl_projects WHERE identifier = ?", key.upper())
    if row is None:  # agents also pass the project's name
        row = ctx.one("SELECT * FROM pl_projects WHERE lower(name) = lower(?)", key)
    if row is None:
        raise not_found("project", project_id)
    if row["network"] == 0 and project_role(ctx, row) is None:  # secret projects: members only
        raise ToolError("permission_denied", f"project {row['identifier']} is secret and you are not a member")
    return row


def issue(ctx, proj: dict, issue_id: str) -> dict:
    key = str(issue_id).strip()
    row = None
    m = READABLE.match(key)
    if m:
        if m.group(1).upper() != proj["identifier"]:
            raise not_found("issue", f"{issue_id} in project {proj['identifier']}")
        row = ctx.one("SELECT * FROM pl_issues WHERE project_id = ? AND sequence_id = ?", proj["id"], int(m.group(2)))
    elif key.isdigit():
        row = ctx.one("SELECT * FROM pl_issues WHERE id = ? AND project_id = ?", int(key), proj["id"])
    if row is None:
        raise not_found("issue", f"{issue_id} in project {proj['identifier']}")
    return row


def child(ctx, table: str, what: str, proj: dict, ident: Any, by_name: bool = True) -> dict:
    """A state / label / issue type / module / cycle of the project, by id (or by name)."""
    key = str(ident).strip()
    row = None
    if key.isdigit():
        row = ctx.one(f"SELECT * FROM {table} WHERE id = ? AND project_id = ?", int(key), proj["id"])
    if row is None and by_name:
        row = ctx.one(f"SELECT * FROM {table} WHERE project_id = ? AND lower(name) = lower(?)", proj["id"], key)
    if row is None:
        raise not_found(what, f"{ident} in project {proj['identifier']}")
    return row


def readable(proj: dict, row: dict) -> str:
    return f"{proj['identifier']}-{row['sequence_id']}"


# -- argument parsing --------------------------------------------------------------------
def parse_data(text: str, field: str, allowed: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """A `*_data` parameter: a JSON object whose keys are among `allowed` (key -> accepted types)."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ToolError("invalid_arguments", f"{field}: not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc}); "
                        f'expected an object such as {{"{next(iter(allowed))}": ...}}', field=field) from None
    if not isinstance(data, dict):
        raise ToolError("invalid_arguments", f"{field}: expected a JSON object, got {type(data).__name__}",
                        field=field)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ToolError("invalid_arguments", f"{field}: unknown key(s) {', '.join(unknown)}; allowed: "
                        f"{', '.join(sorted(allowed))}", field=field, unknown=unknown, allowed=sorted(allowed))
    if not data:
        raise ToolError("invalid_arguments", f"{field}: nothing to update; allowed keys: {', '.join(sorted(allowed))}",
                        field=field)
    for key, value in data.items():
        types = allowed[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            names = "/".join("null" if t is type(None) else {str: "string", int: "integer", list: "array",
                                                              bool: "boolean"}.get(t, t.__name__) for t in types)
            raise ToolError("invalid_arguments", f"{field}.{key}: expected {names}, got {json.dumps(value)}",
                            field=f"{field}.{key}")
    return data


def parse_id_list(text: str, field: str) -> list[str]:
    """A list of ids given as JSON ('["WEB-1", 7]') or as comma-separated text ('WEB-1, 7')."""
    raw = text.strip()
    items: Any
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ToolError("invalid_arguments", f"{field}: not a valid JSON array ({exc.msg})", field=field) from None
        if not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
            raise ToolError("invalid_arguments", f"{field}: array items must be ids (strings or integers)", field=field)
    else:
        items = [p for p in (s.strip() for s in raw.split(",")) if p]
    if not items:
        raise ToolError("invalid_arguments", f"{field}: give at least one issue id", field=field)
    return [str(i).strip() for i in items]


def parse_date(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def check_color(color: str, field: str = "color") -> str:
    if not HEX_COLOR.match(color):
        raise ToolError("invalid_arguments", f"{field}: {color!r} is not a hex colour like #3A86FF", field=field)
    return color.upper()


def check_range(start: str | None, end: str | None, what: str, start_key: str, end_key: str) -> None:
    if start and end and end < start:
        raise ToolError("rule_violation", f"{what}: {end_key} {end} is before {start_key} {start}",
                        **{start_key: start, end_key: end})
