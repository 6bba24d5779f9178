"""List tools from MCP sources at run time. A malformed schema from an external server is
reported (with the reason) and left out; it never crashes discovery."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import anyio

from elab_hpc.env.sources import SourceConfig, connect

JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}


@dataclass
class RawTool:
    source: str
    app: str
    name: str  # the name to call on the source's server
    tool: str  # the tool's own name within its app (name without an `app.` prefix)
    description: str
    input_schema: Dict[str, Any]
    output_schema: Optional[Dict[str, Any]]
    annotations: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Discovery:
    tools: List[RawTool]
    problems: List[Dict[str, str]]  # {"source", "tool", "problem"} for tools left out


def schema_problem(schema: Any) -> Optional[str]:
    """Why an input schema cannot be used as an action schema (None if it can)."""
    if not isinstance(schema, dict):
        return f"input schema is a {type(schema).__name__}, not an object"
    if schema.get("type", "object") != "object":
        return f"input schema type is {schema.get('type')!r}, not 'object'"
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        return "`properties` is not a mapping"
    for name, prop in props.items():
        if not isinstance(prop, dict):
            return f"parameter {name!r}: schema is not an object"
        types_ = prop.get("type")
        listed = types_ if isinstance(types_, list) else [types_] if types_ else []
        bad = [t for t in listed if t not in JSON_TYPES]
        if bad:
            return f"parameter {name!r}: unknown JSON type {bad[0]!r}"
    required = schema.get("required", [])
    if not isinstance(required, list) or any(r not in props for r in required):
        return "`required` names parameters that are not in `properties`"
    return None


def _annotations(tool: Any) -> Dict[str, Any]:
    ann = getattr(tool, "annotations", None)
    if ann is None:
        return {}
    return {"readOnlyHint": ann.read_only_hint, "destructiveHint": ann.destructive_hint,
            "idempotentHint": ann.idempotent_hint, "openWorldHint": ann.open_world_hint}


async def discover_source(source: SourceConfig, episode: Any = None) -> Discovery:
    tools: List[RawTool] = []
    problems: List[Dict[str, str]] = []
    try:
        async with connect(source, episode) as client:
            listed = (await client.list_tools()).tools
    except Exception as exc:  # noqa: BLE001 - a broken server is reported, not fatal to discovery
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, BaseExceptionGroup):  # anyio task groups wrap the real error
            first = "; ".join(str(e).splitlines()[0] for e in exc.exceptions)
        problems.append({"source": source.name, "tool": "*",
                         "problem": f"cannot list tools: {type(exc).__name__}: {first[:300]}"})
        return Discovery(tools, problems)
    for t in listed:
        schema = t.input_schema
        problem = schema_problem(schema)
        if problem is None and not (t.description or "").strip():
            problem = "no description"
        if problem:
            problems.append({"source": source.name, "tool": t.name, "problem": problem})
            continue
        if "." in t.name:
            app, tool = t.name.split(".", 1)
        else:
            app, tool = source.name, t.name
        tools.append(RawTool(source=source.name, app=app, name=t.name, tool=tool, description=t.description or "",
                             input_schema=schema, output_schema=t.output_schema, annotations=_annotations(t)))
    return Discovery(tools, problems)


def discover(sources: List[SourceConfig], episode: Any = None) -> Discovery:
    """Discover every source (sync wrapper). Sources are contacted one after another."""

    async def main() -> Discovery:
        out = Discovery([], [])
        for s in sources:
            d = await discover_source(s, episode if s.kind == "arena" else None)
            out.tools.extend(d.tools)
            out.problems.extend(d.problems)
        return out

    return anyio.run(main)
