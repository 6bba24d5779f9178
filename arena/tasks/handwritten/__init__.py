"""Hand-written EnterpriseArena tasks: realistic requests, each with explicit check functions.

A *family* is a function `family(call, q, i) -> dict | None` that writes instance `i` of a request
(one per employee, order, merge request, ...) against the seeded company:

- `q(sql, *args)` reads the initial state to pick the concrete people and records the request
  talks about (what the person asking knows);
- `call(tool, args)` performs the gold solution step by step, as a careful agent would, and
  records each call as a gold action (a failing call is a bug in the family: it raises);
- it returns `{intent, answer, checks, category}`: the request in plain words, the final answer
  a correct agent gives, and the checks — the family's own check function, over the final state
  (rows that must exist / be absent / hold a value) AND over facts the answer must mention.

`build_handwritten(arena, registry)` runs every instance in a fresh episode, turns the recorded
calls into canonical gold actions, and keeps an instance only if its checks pass after the gold
solution and at least one of them fails on the untouched state with an empty answer (a check
that a do-nothing agent passes verifies nothing).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from elab_hpc.env.checks import run_checks
from elab_hpc.errors import UserError

Family = Callable[..., Optional[Dict[str, Any]]]


class HandTaskError(UserError):
    """A hand-written family whose gold solution does not work on the seeded world."""


@dataclass
class FamilySpec:
    name: str
    fn: Family
    instances: int


def row(table: str, **where: Any) -> Dict[str, Any]:
    return {"type": "row_exists", "table": table, "where": where}


def absent(table: str, **where: Any) -> Dict[str, Any]:
    return {"type": "row_absent", "table": table, "where": where}


def field(table: str, where: Dict[str, Any], column: str, value: Any) -> Dict[str, Any]:
    return {"type": "field_equals", "table": table, "where": where, "column": column, "value": value}


def count(table: str, where: Dict[str, Any], op: str, value: int) -> Dict[str, Any]:
    return {"type": "row_count", "table": table, "where": where, "op": op, "value": value}


def says(*values: Any) -> List[Dict[str, Any]]:
    return [{"type": "answer_contains", "value": str(v)} for v in values]


class Recorder:
    """Calls tools on an episode and records each successful call as a gold action."""

    def __init__(self, ep: Any, family: str):
        self.ep = ep
        self.family = family
        self.actions: List[Dict[str, Any]] = []

    def __call__(self, tool: str, args: Dict[str, Any]) -> Dict[str, Any]:
        obs = self.ep.call(tool, args)
        if not obs.ok:
            raise HandTaskError(f"hand-written family {self.family!r}: gold call {tool}({args}) failed: {obs.error}")
        self.actions.append({"tool": tool, "args": dict(args)})
        return obs.result


def probe_call(ep: Any) -> Callable[[str, Dict[str, Any]], Any]:
    """What `probe` checks call: a read-only tool on the same episode."""
    return lambda tool, args: ep.call(tool, args)


def all_families() -> List[FamilySpec]:
    from arena.tasks.handwritten import business, dev, hr, knowledge, ops

    out: List[FamilySpec] = []
    for mod in (hr, business, dev, ops, knowledge):
        out.extend(mod.FAMILIES)
    return out


def build_handwritten(arena: Any, registry: Any, progress: Optional[Callable[[int], None]] = None
                      ) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Every family instance as a task dict (Task.to_dict shape plus `source`); and problems."""
    tasks: List[Dict[str, Any]] = []
    problems: List[str] = []
    for spec in all_families():
        for i in range(spec.instances):
            with arena.episode() as ep:
                rec = Recorder(ep, spec.name)
                got = spec.fn(rec, ep.query, i)
                if got is None:
                    problems.append(f"{spec.name}[{i}]: no instance in this world")
                    continue
                results = run_checks(got["checks"], ep, got["answer"], call=probe_call(ep))
            bad = [r["detail"] for r in results if not r["passed"]]
            if bad:
                raise HandTaskError(f"hand-written {spec.name}[{i}]: checks fail after the gold solution: {bad}")
            with arena.episode() as ep:
                untouched = run_checks(got["checks"], ep, "", call=probe_call(ep))
            if all(r["passed"] for r in untouched):
                raise HandTaskError(f"hand-written {spec.name}[{i}]: checks already pass before anything is done")
            gold = [{"tool": a["tool"], "args": registry[a["tool"]].to_canonical(a["args"])} for a in rec.actions]
            apps = sorted({a["tool"].split(".", 1)[0] for a in gold})
            tasks.append({"id": f"h-{spec.name}-{i}", "intent": got["intent"], "category": got["category"],
                          "thoughts": [], "gold_actions": gold, "checks": got["checks"], "apps": apps,
                          "answer": got["answer"], "source": "handwritten"})
            if progress is not None:
                progress(1)
    return tasks, problems
