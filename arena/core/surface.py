"""Versioned tool surfaces: a controlled change of the tools an arena world exposes.

`apply_surface(world, change)` returns a view of `world` (same apps, data and episodes) whose
tool index is replaced for a seeded `fraction` of tools by a new version of each:

  rename         the tool gets a new name (`<name>_v2` by default, or `rename_to` templates)
  param_rename   one parameter gets a new name (`<param>_ref` by default)
  param_add      a new optional parameter (ignored by the implementation, as a real API's new
                 flag with a default)
  output_shape   the result is wrapped: {"data": <old result>, "api_version": 2}

A changed tool is a new ToolSpec whose argument model, input schema and output schema follow the
change and whose function maps the new arguments back to the original implementation, so it is
served (MCP, `build_server(..., world=view)`) and called (`view.episode().call(...)`) exactly like
an original tool. Nothing in the base world changes; no other core module needs a hook.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional

from pydantic import Field, create_model

from arena.core.app import ToolSpec
from arena.core.world import ToolIndex, World

KINDS = ("rename", "param_rename", "param_add", "output_shape")


@dataclass
class SurfaceChange:
    """What to change. `weights` picks the kind of change per tool; `exclude_apps` stay as they are."""

    version: str = "v2"
    fraction: float = 0.3
    seed: int = 0
    weights: Dict[str, float] = field(default_factory=lambda: {k: 1.0 for k in KINDS})
    exclude_apps: List[str] = field(default_factory=list)
    param_suffix: str = "_ref"
    added_param: str = "request_note"

    def validate(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"fraction: must be in (0, 1], got {self.fraction}")
        bad = [k for k in self.weights if k not in KINDS]
        if bad:
            raise ValueError(f"weights: unknown change kind(s) {bad}; known: {', '.join(KINDS)}")
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("weights: at least one change kind needs a weight > 0")


@dataclass
class AppliedChange:
    tool: str  # qualified name in the base world
    kind: str
    new_tool: str  # qualified name in the view
    param: Optional[str] = None
    new_param: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _renamed_model(spec: ToolSpec, old: str, new: str):
    fields = {}
    for name, info in spec.arg_model.model_fields.items():
        fields[new if name == old else name] = (info.annotation, copy.copy(info))
    return create_model(f"{spec.arg_model.__name__}_{new}", **fields)


def _added_model(spec: ToolSpec, extra: str):
    fields = {name: (info.annotation, copy.copy(info)) for name, info in spec.arg_model.model_fields.items()}
    fields[extra] = (Optional[str], Field(default=None, description="Optional note stored with the request."))
    return create_model(f"{spec.arg_model.__name__}_{extra}", **fields)


def _schema_rename(schema: Dict[str, Any], old: str, new: str) -> Dict[str, Any]:
    s = copy.deepcopy(schema)
    props = s.get("properties") or {}
    s["properties"] = {(new if k == old else k): v for k, v in props.items()}
    if "required" in s:
        s["required"] = [new if r == old else r for r in s["required"]]
    return s


def _wrap_fn(fn: Callable[..., dict], old: Optional[str] = None, new: Optional[str] = None,
             drop: Optional[str] = None, wrap_output: bool = False) -> Callable[..., dict]:
    def call(ctx: Any, **kwargs: Any) -> dict:
        if new is not None and new in kwargs:
            kwargs[old] = kwargs.pop(new)  # type: ignore[index]
        if drop is not None:
            kwargs.pop(drop, None)
        result = fn(ctx, **kwargs)
        return {"data": result, "api_version": 2} if wrap_output else result
    return call


def changed_spec(spec: ToolSpec, kind: str, change: SurfaceChange) -> tuple[ToolSpec, AppliedChange]:
    params = list(spec.arg_model.model_fields)
    if kind in ("param_rename",) and not params:
        kind = "param_add"  # nothing to rename: the change becomes an added parameter
    if kind == "rename":
        new = replace(spec, name=f"{spec.name}_{change.version}")
        return new, AppliedChange(spec.qualified_name, kind, new.qualified_name)
    if kind == "param_rename":
        required = (spec.input_schema.get("required") or [])
        old = required[0] if required else params[0]
        new_name = old + change.param_suffix
        new = replace(spec, arg_model=_renamed_model(spec, old, new_name),
                      input_schema=_schema_rename(spec.input_schema, old, new_name),
                      fn=_wrap_fn(spec.fn, old=old, new=new_name))
        return new, AppliedChange(spec.qualified_name, kind, spec.qualified_name, old, new_name)
    if kind == "param_add":
        extra = change.added_param
        schema = copy.deepcopy(spec.input_schema)
        schema.setdefault("properties", {})[extra] = {"type": "string",
                                                      "description": "Optional note stored with the request."}
        new = replace(spec, arg_model=_added_model(spec, extra), input_schema=schema,
                      fn=_wrap_fn(spec.fn, drop=extra))
        return new, AppliedChange(spec.qualified_name, kind, spec.qualified_name, None, extra)
    if kind == "output_shape":
        out = {"type": "object", "properties": {"data": spec.output_schema or {"type": "object"},
                                                "api_version": {"type": "integer"}},
               "required": ["data", "api_version"]}
        new = replace(spec, output_schema=out, fn=_wrap_fn(spec.fn, wrap_output=True))
        return new, AppliedChange(spec.qualified_name, kind, spec.qualified_name)
    raise ValueError(f"unknown change kind {kind!r}")


def plan(world: World, change: SurfaceChange) -> Dict[str, str]:
    """qualified tool name → change kind, for a seeded `fraction` of the world's tools. The draw is
    over every registered app's tools, so a world of fewer apps gets the same changes to its tools
    as the full one (evaluation and synthesis may load different app subsets)."""
    from arena.core.registry import load_apps

    change.validate()
    every = [t for app in load_apps(None) for t in app.tools.values()]
    names = sorted(t.qualified_name for t in every if t.app not in change.exclude_apps and t.app != "core")
    rng = random.Random(f"surface:{change.version}:{change.seed}")
    picked = sorted(rng.sample(names, max(1, round(change.fraction * len(names)))))
    kinds = [k for k in KINDS if change.weights.get(k, 0) > 0]
    weights = [change.weights[k] for k in kinds]
    here = {t.qualified_name for t in world.tools()}
    return {name: kind for name in picked for kind in [rng.choices(kinds, weights)[0]] if name in here}


def apply_surface(world: World, change: SurfaceChange) -> tuple[World, List[AppliedChange]]:
    """The world with the changed surface (a shallow view sharing data and connection pool)."""
    kinds = plan(world, change)
    view = copy.copy(world)
    view.apps = {}
    applied: List[AppliedChange] = []
    for name, app in world.apps.items():
        tools: Dict[str, ToolSpec] = {}
        for key, spec in app.tools.items():
            kind = kinds.get(spec.qualified_name)
            if kind is None:
                tools[key] = spec
                continue
            new, done = changed_spec(spec, kind, change)
            tools[new.name] = new
            applied.append(done)
        view.apps[name] = replace(app, tools=tools)
    view.index = ToolIndex.build(view.apps.values())
    view.surface = {"version": change.version, "changes": [a.to_dict() for a in applied]}  # type: ignore[attr-defined]
    return view, applied
