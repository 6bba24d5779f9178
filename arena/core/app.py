"""An arena application: its tools, its tables, its seed data and the events it reacts to.

Each app lives in ``arena/apps/<name>/`` and builds one ``App``:

    app = App("gitlab", title="GitLab", domain="Development", schema=SCHEMA_SQL)

    @app.tool(read_only=True)
    def get_file_contents(ctx, project_id: Annotated[str, Field(description="...")], ...) -> dict:
        '''Get the contents of a file in a repository.'''

Tool parameters are ordinary typed Python parameters; their JSON schema and a fast pydantic
validator are derived once, at import time. Every parameter must carry a description.
"""
from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, create_model


@dataclass(frozen=True)
class Annotations:
    """MCP tool annotations (hints to clients; the arena enforces rules itself)."""

    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False

    def to_mcp(self) -> dict[str, bool]:
        return {
            "readOnlyHint": self.read_only,
            "destructiveHint": self.destructive,
            "idempotentHint": self.idempotent,
            "openWorldHint": self.open_world,
        }


@dataclass
class ToolSpec:
    app: str
    name: str
    description: str
    fn: Callable[..., dict]
    arg_model: type[BaseModel]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    annotations: Annotations

    @property
    def qualified_name(self) -> str:
        return f"{self.app}.{self.name}"

    def to_json(self) -> dict[str, Any]:
        """The form `elab-hpc arena tools --json` prints."""
        return {
            "app": self.app,
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "annotations": self.annotations.to_mcp(),
        }


_JSON_TYPES = {"string", "integer", "number", "boolean", "array", "object", "null"}


def _simplify(schema: dict[str, Any]) -> dict[str, Any]:
    """Make pydantic's schema read like hand-written API docs: `X | None = None` becomes a plain
    optional X, titles go (the property name says it)."""
    schema = dict(schema)
    schema.pop("title", None)
    any_of = schema.get("anyOf")
    if any_of and len(any_of) == 2 and {"type": "null"} in any_of:
        other = next(s for s in any_of if s != {"type": "null"})
        schema.pop("anyOf")
        schema = {**_simplify(other), **schema}
    for key in ("properties", "$defs"):
        if key in schema:
            schema[key] = {k: _simplify(v) for k, v in schema[key].items()}
    if "items" in schema and isinstance(schema["items"], dict):
        schema["items"] = _simplify(schema["items"])
    if schema.get("default", 0) is None:
        schema.pop("default")
    return schema


def _inline_refs(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """Replace `{"$ref": "#/$defs/X"}` by X itself: agents and validators then need no resolver."""
    if depth > 20:
        return schema
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = defs.get(ref.split("/")[-1], {})
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return _inline_refs(merged, defs, depth + 1)
        return {k: _inline_refs(v, defs, depth + 1) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(v, defs, depth + 1) for v in schema]
    return schema


def _output_schema(returns: dict[str, Any] | None) -> dict[str, Any]:
    if not returns:
        return {"type": "object"}
    # declared fields may come back null (an optional value not set): MCP clients validate
    # structured results against this schema and refuse a result that breaks it
    props = {}
    for key, spec in returns.items():
        if isinstance(spec, str):
            if spec not in _JSON_TYPES:
                raise ValueError(f"output field {key!r}: unknown JSON type {spec!r}")
            spec = {"type": spec}
        spec = dict(spec)
        if isinstance(spec.get("type"), str) and spec["type"] != "null":
            spec["type"] = [spec["type"], "null"]
        props[key] = spec
    return {"type": "object", "properties": props}


def build_spec(app: str, fn: Callable[..., dict], *, name: str | None, annotations: Annotations,
               returns: dict[str, Any] | None) -> ToolSpec:
    tool_name = name or fn.__name__
    doc = inspect.getdoc(fn)
    if not doc:
        raise ValueError(f"tool {app}.{tool_name} needs a docstring (it is the tool description)")
    hints = typing.get_type_hints(fn, include_extras=True)
    params = list(inspect.signature(fn).parameters.values())
    if not params or params[0].name != "ctx":
        raise ValueError(f"tool {app}.{tool_name}: first parameter must be `ctx`")
    fields: dict[str, Any] = {}
    for p in params[1:]:
        if p.name not in hints:
            raise ValueError(f"tool {app}.{tool_name}: parameter {p.name!r} needs a type annotation")
        ann = hints[p.name]
        meta = getattr(ann, "__metadata__", ())
        if not any(getattr(m, "description", None) for m in meta):
            raise ValueError(f"tool {app}.{tool_name}: parameter {p.name!r} needs Field(description=...)")
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (ann, default)
    model = create_model(  # type: ignore[call-overload]
        f"{app}_{tool_name}_args",
        __config__=ConfigDict(extra="forbid", str_max_length=None),
        **fields,
    )
    raw = model.model_json_schema()
    schema = _simplify(_inline_refs(raw, raw.get("$defs", {})))
    schema.setdefault("properties", {})
    schema["additionalProperties"] = False
    return ToolSpec(
        app=app,
        name=tool_name,
        description=doc,
        fn=fn,
        arg_model=model,
        input_schema=schema,
        output_schema=_output_schema(returns),
        annotations=annotations,
    )


@dataclass
class App:
    """One enterprise application of the arena."""

    name: str
    title: str
    domain: str
    description: str = ""
    schema: str = ""  # CREATE TABLE statements; every table needs an INTEGER PRIMARY KEY `id`
    depends_on: tuple[str, ...] = ("core",)
    tools: dict[str, ToolSpec] = field(default_factory=dict)
    seeders: list[tuple[int, Callable[..., None]]] = field(default_factory=list)
    handlers: dict[str, list[Callable[..., None]]] = field(default_factory=dict)
    pages: list[Callable[..., None]] = field(default_factory=list)

    def tool(self, *, name: str | None = None, read_only: bool = False, destructive: bool = False,
             idempotent: bool | None = None, open_world: bool = False,
             returns: dict[str, Any] | None = None) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
        """Register a tool. Read-only tools are idempotent unless said otherwise."""

        def deco(fn: Callable[..., dict]) -> Callable[..., dict]:
            ann = Annotations(
                read_only=read_only,
                destructive=destructive,
                idempotent=read_only if idempotent is None else idempotent,
                open_world=open_world,
            )
            spec = build_spec(self.name, fn, name=name, annotations=ann, returns=returns)
            if spec.name in self.tools:
                raise ValueError(f"duplicate tool {spec.qualified_name}")
            self.tools[spec.name] = spec
            return fn

        return deco

    def seeder(self, order: int = 50) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """Register a seed function `fn(seed_ctx)`; lower `order` runs first (core company is 0)."""

        def deco(fn: Callable[..., None]) -> Callable[..., None]:
            self.seeders.append((order, fn))
            return fn

        return deco

    def on(self, event: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """React to a cross-app event, e.g. `employee.hired`; handler is `fn(ctx, **payload)`."""

        def deco(fn: Callable[..., None]) -> Callable[..., None]:
            self.handlers.setdefault(event, []).append(fn)
            return fn

        return deco
