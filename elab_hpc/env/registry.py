"""The tool registry: every discovered tool as one normalized action schema.

    reg = ToolRegistry.build(discover([SourceConfig(kind="arena")]))
    action = reg["gitlab.create_issue"]          # canonical parameters, e.g. workspace_id
    native = action.to_native({"workspace_id": "1", "title": "x"})   # {"project_id": "1", ...}

Names are app-qualified (`app.tool`), so `plane.create_project` and `dolibarr.create_project`
coexist; `resolve("create_project")` tells the caller which apps have it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.env.aliases import AliasTable
from elab_hpc.env.classify import infer_entities, infer_op, load_corrections
from elab_hpc.env.discovery import Discovery, RawTool


def fn_name(registry_name: str) -> str:
    return registry_name.replace(".", "__", 1)


@dataclass
class Param:
    native: str
    schema: Dict[str, Any]
    required: bool


@dataclass
class ActionSchema:
    name: str  # app.tool
    app: str
    tool: str
    source: str
    call_name: str  # what the source's server calls it
    description: str
    params: Dict[str, Param]  # canonical name -> native parameter
    output_schema: Optional[Dict[str, Any]]
    annotations: Dict[str, Any]
    op: str
    produces: List[str]
    consumes: List[str]

    @property
    def input_schema(self) -> Dict[str, Any]:
        """The canonical JSON schema (what an agent sees)."""
        return {"type": "object",
                "properties": {c: p.schema for c, p in self.params.items()},
                "required": [c for c, p in self.params.items() if p.required]}

    @property
    def native_schema(self) -> Dict[str, Any]:
        return {"type": "object",
                "properties": {p.native: p.schema for p in self.params.values()},
                "required": [p.native for p in self.params.values() if p.required]}

    def to_native(self, args: Dict[str, Any]) -> Dict[str, Any]:
        """Canonical arguments → the server's own names. Unknown keys pass through unchanged so
        the server (not the registry) reports them."""
        back = {c: p.native for c, p in self.params.items()}
        return {back.get(k, k): v for k, v in args.items()}

    def to_canonical(self, args: Dict[str, Any]) -> Dict[str, Any]:
        fwd = {p.native: c for c, p in self.params.items()}
        return {fwd.get(k, k): v for k, v in args.items()}

    @property
    def fn_name(self) -> str:
        """The name in chat `tools` / `tool_calls`: OpenAI-style APIs allow no dots, so
        `gitlab.create_issue` becomes `gitlab__create_issue` (ToolRegistry.by_fn_name maps back)."""
        return fn_name(self.name)

    def openai_tool(self) -> Dict[str, Any]:
        """OpenAI / chat-template function schema (what TRL's SFTTrainer takes as `tools`)."""
        return {"type": "function",
                "function": {"name": self.fn_name, "description": self.description,
                             "parameters": self.input_schema}}


@dataclass
class ToolRegistry:
    actions: Dict[str, ActionSchema]
    problems: List[Dict[str, str]] = field(default_factory=list)

    @classmethod
    def build(cls, discovery: Discovery, aliases: Optional[AliasTable] = None,
              corrections: Optional[Dict[str, Dict[str, Any]]] = None) -> "ToolRegistry":
        aliases = aliases or AliasTable.load()
        corrections = load_corrections() if corrections is None else corrections
        actions: Dict[str, ActionSchema] = {}
        problems = list(discovery.problems)
        for raw in discovery.tools:
            action = _normalize(raw, aliases, corrections)
            if action.name in actions:
                problems.append({"source": raw.source, "tool": raw.name,
                                 "problem": f"duplicate registry name {action.name} (also from "
                                            f"{actions[action.name].source}); kept the first"})
                continue
            actions[action.name] = action
        return cls(actions, problems)

    def __getitem__(self, name: str) -> ActionSchema:
        return self.actions[name]

    def __contains__(self, name: str) -> bool:
        return name in self.actions

    def __len__(self) -> int:
        return len(self.actions)

    def __iter__(self):
        return iter(self.actions.values())

    def by_fn_name(self, name: str) -> Optional[ActionSchema]:
        """The action behind a chat function name (`gitlab__create_issue`) or a registry name."""
        return self.actions.get(name) or self.actions.get(name.replace("__", ".", 1))

    def resolve(self, name: str) -> List[str]:
        """Registry names matching a qualified or bare tool name."""
        if name in self.actions:
            return [name]
        return sorted(a.name for a in self.actions.values() if a.tool == name)

    def apps(self) -> List[str]:
        return sorted({a.app for a in self.actions.values()})

    # -- snapshots (for drift detection) ----------------------------------------------
    def snapshot(self) -> Dict[str, Any]:
        return {"version": 1, "actions": {n: asdict(a) for n, a in sorted(self.actions.items())}}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.snapshot(), indent=1, sort_keys=True))

    @classmethod
    def from_snapshot(cls, data: Dict[str, Any]) -> "ToolRegistry":
        actions = {}
        for name, a in data["actions"].items():
            a = dict(a)
            a["params"] = {c: Param(**p) for c, p in a["params"].items()}
            actions[name] = ActionSchema(**a)
        return cls(actions)

    @classmethod
    def load(cls, path: str | Path) -> "ToolRegistry":
        return cls.from_snapshot(json.loads(Path(path).read_text()))


def _normalize(raw: RawTool, aliases: AliasTable, corrections: Dict[str, Dict[str, Any]]) -> ActionSchema:
    props: Dict[str, Any] = raw.input_schema.get("properties", {}) or {}
    required = set(raw.input_schema.get("required", []) or [])
    plan = aliases.plan(raw.app, list(props))
    params = {plan[n]: Param(native=n, schema=props[n], required=n in required) for n in props}
    name = f"{raw.app}.{raw.tool}"
    op = infer_op(raw.app, raw.tool, raw.annotations)
    fix = corrections.get(name, {})
    op = fix.get("op", op)
    produces, consumes = infer_entities(
        raw.app, raw.tool, op, {c: {"native": p.native, "required": p.required} for c, p in params.items()},
        raw.output_schema, lambda f: aliases.canonical(raw.app, f))
    return ActionSchema(
        name=name, app=raw.app, tool=raw.tool, source=raw.source, call_name=raw.name,
        description=raw.description, params=params, output_schema=raw.output_schema,
        annotations=raw.annotations, op=op,
        produces=list(fix.get("produces", produces)), consumes=list(fix.get("consumes", consumes)),
    )
