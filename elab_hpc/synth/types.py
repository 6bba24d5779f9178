"""The data that task synthesis produces: executed steps, tasks and trajectories.

Contract (other synth modules and the trainers rely on it):

- `Step` is one executed tool call. `tool` is the registry name (`gitlab.create_issue`), `args`
  the CANONICAL arguments the agent would write, `native_args` what the arena received
  (`ActionSchema.to_native(args)`). Exactly one of `result` (ok) / `error` (not ok) is set.
  `uses` lists the dependency edges this call actually used: `(earlier step index, output field,
  canonical param)` — a value this step took from an earlier step's result.
- `Task` is what an agent is asked to do: a high-level `intent`, a `category` (one of CATEGORIES),
  low-level `thoughts` (one per consecutive step pair, so `len(steps) - 1` of them, possibly 0),
  an optional `opening` thought before the first call (it restates the first step's request),
  `gold_actions` [{tool, args}] (canonical args), `checks` (plain JSON dicts, executed by
  `elab_hpc.env.checks.run_checks`), `apps` touched, an optional `split`, and `answer`: the final
  answer a correct agent gives (it contains every answer fact the checks ask for; render it as the
  last assistant message).
- `Trajectory` is one sampled, executed run. `to_record()` gives the DESIGN trajectory record
  minus `messages`/`tools` (the renderer adds those): `id, task{...}, actions [{tool, args, ok,
  result|error}], final_state_hash, diff, meta{source, shard, seed, start_node, depth, ...}`;
  failed attempts, if any, sit under `meta.failed_attempts` (for DPO negatives).
  `from_record(record)` inverts it (extra keys like `messages` are ignored).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

CATEGORIES = ("crud", "search_orchestration", "multi_entity", "version_control", "cross_functional")

Use = Tuple[int, str, str]  # (earlier step index, output field, canonical param)


@dataclass
class Step:
    tool: str
    args: Dict[str, Any]
    native_args: Dict[str, Any]
    ok: bool
    result: Optional[Dict[str, Any]] = None
    error: Optional[Dict[str, Any]] = None
    uses: List[Use] = field(default_factory=list)

    def to_action(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"tool": self.tool, "args": self.args, "native_args": self.native_args,
                               "ok": self.ok, "uses": [list(u) for u in self.uses]}
        if self.ok:
            out["result"] = self.result
        else:
            out["error"] = self.error
        return out

    @classmethod
    def from_action(cls, d: Dict[str, Any]) -> "Step":
        return cls(tool=d["tool"], args=dict(d.get("args") or {}),
                   native_args=dict(d.get("native_args") or d.get("args") or {}),
                   ok=bool(d["ok"]), result=d.get("result"), error=d.get("error"),
                   uses=[(int(u[0]), str(u[1]), str(u[2])) for u in d.get("uses") or []])


@dataclass
class Task:
    id: str
    intent: str
    category: str
    thoughts: List[str]
    gold_actions: List[Dict[str, Any]]  # [{tool, args}] with canonical args
    checks: List[Dict[str, Any]]
    apps: List[str]
    split: Optional[str] = None
    answer: str = ""  # the final answer a correct agent gives (holds every answer fact the checks ask for)
    opening: str = ""  # the thought before the first call ("" = records fall back to a generic one)

    def to_dict(self) -> Dict[str, Any]:
        out = {"id": self.id, "intent": self.intent, "category": self.category, "thoughts": list(self.thoughts),
               "gold_actions": list(self.gold_actions), "checks": list(self.checks), "apps": list(self.apps),
               "answer": self.answer}
        if self.split is not None:
            out["split"] = self.split
        if self.opening:
            out["opening"] = self.opening
        return out

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Task":
        return cls(id=d["id"], intent=d["intent"], category=d["category"], thoughts=list(d.get("thoughts") or []),
                   gold_actions=list(d.get("gold_actions") or []), checks=list(d.get("checks") or []),
                   apps=list(d.get("apps") or []), split=d.get("split"), answer=d.get("answer") or "",
                   opening=d.get("opening") or "")


@dataclass
class Trajectory:
    id: str
    task: Task
    steps: List[Step]
    final_state_hash: str
    diff: Dict[str, Any]
    meta: Dict[str, Any] = field(default_factory=dict)  # source, shard, seed, start_node, depth, ...

    @property
    def tools(self) -> List[str]:
        return [s.tool for s in self.steps]

    @property
    def has_dependency_chain(self) -> bool:
        """A later step used an earlier step's output (a real data-flow chain)."""
        return any(s.uses for s in self.steps[1:])

    def to_record(self) -> Dict[str, Any]:
        return {"id": self.id, "task": self.task.to_dict(),
                "actions": [s.to_action() for s in self.steps],
                "final_state_hash": self.final_state_hash, "diff": self.diff, "meta": dict(self.meta)}

    @classmethod
    def from_record(cls, rec: Dict[str, Any]) -> "Trajectory":
        return cls(id=rec["id"], task=Task.from_dict(rec["task"]),
                   steps=[Step.from_action(a) for a in rec.get("actions") or []],
                   final_state_hash=rec["final_state_hash"], diff=rec.get("diff") or {},
                   meta=dict(rec.get("meta") or {}))
