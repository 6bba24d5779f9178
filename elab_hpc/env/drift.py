"""Drift between two registry snapshots: which tools were added, removed, renamed (same job,
new name) or re-parameterized (parameters added, removed, renamed, retyped, or now required)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

from rapidfuzz import fuzz

from elab_hpc.env.registry import ActionSchema, ToolRegistry

RENAME_THRESHOLD = 0.6


@dataclass
class ParamChange:
    added: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    renamed: List[Tuple[str, str]] = field(default_factory=list)  # (old native, new native)
    retyped: List[str] = field(default_factory=list)
    required_changed: List[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.added or self.removed or self.renamed or self.retyped or self.required_changed)


@dataclass
class DriftReport:
    added: List[str]
    removed: List[str]
    renamed: List[Tuple[str, str]]  # (old name, new name)
    reparameterized: Dict[str, ParamChange]  # keyed by the NEW name
    output_changed: List[str]

    def changed_tools(self) -> List[str]:
        """New-surface names of everything an agent must relearn."""
        names = set(self.added) | {new for _, new in self.renamed} | set(self.reparameterized) | set(self.output_changed)
        return sorted(names)

    def to_dict(self) -> Dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "renamed": [list(p) for p in self.renamed],
                "reparameterized": {k: vars(v) for k, v in self.reparameterized.items()},
                "output_changed": self.output_changed,
                "summary": {"added": len(self.added), "removed": len(self.removed), "renamed": len(self.renamed),
                            "reparameterized": len(self.reparameterized), "output_changed": len(self.output_changed)}}


def _natives(a: ActionSchema) -> Dict[str, Dict[str, Any]]:
    return {p.native: {"type": p.schema.get("type"), "required": p.required, "description": p.schema.get("description", "")}
            for p in a.params.values()}


def _param_change(old: ActionSchema, new: ActionSchema) -> ParamChange:
    po, pn = _natives(old), _natives(new)
    ch = ParamChange()
    gone = [n for n in po if n not in pn]
    came = [n for n in pn if n not in po]
    # a parameter renamed keeps its type and (mostly) its description
    for o in list(gone):
        best, score = None, 0.0
        for n in came:
            if po[o]["type"] != pn[n]["type"]:
                continue
            s = fuzz.ratio(po[o]["description"], pn[n]["description"]) / 100 if po[o]["description"] else 0.0
            s = max(s, fuzz.ratio(o, n) / 100 * 0.9)
            if s > score:
                best, score = n, s
        if best is not None and score >= 0.7:
            ch.renamed.append((o, best))
            gone.remove(o)
            came.remove(best)
    ch.removed, ch.added = gone, came
    for n in po:
        if n in pn:
            if po[n]["type"] != pn[n]["type"]:
                ch.retyped.append(n)
            if po[n]["required"] != pn[n]["required"]:
                ch.required_changed.append(n)
    return ch


def _similarity(old: ActionSchema, new: ActionSchema) -> float:
    if old.app != new.app:
        return 0.0
    po, pn = set(_natives(old)), set(_natives(new))
    jacc = len(po & pn) / len(po | pn) if po | pn else 1.0
    desc = fuzz.ratio(old.description, new.description) / 100
    name = fuzz.ratio(old.tool, new.tool) / 100
    same_op = 1.0 if old.op == new.op else 0.0
    return 0.35 * desc + 0.3 * jacc + 0.2 * name + 0.15 * same_op


def detect_drift(old: ToolRegistry, new: ToolRegistry) -> DriftReport:
    old_only = [n for n in old.actions if n not in new.actions]
    new_only = [n for n in new.actions if n not in old.actions]
    pairs = sorted(((_similarity(old[o], new[n]), o, n) for o in old_only for n in new_only), reverse=True)
    renamed: List[Tuple[str, str]] = []
    used_o, used_n = set(), set()
    for score, o, n in pairs:
        if score < RENAME_THRESHOLD:
            break
        if o in used_o or n in used_n:
            continue
        renamed.append((o, n))
        used_o.add(o)
        used_n.add(n)
    reparam: Dict[str, ParamChange] = {}
    output_changed: List[str] = []
    for o, n in [(x, x) for x in old.actions if x in new.actions] + renamed:
        ch = _param_change(old[o], new[n])
        if not ch.empty():
            reparam[n] = ch
        if (old[o].output_schema or {}) != (new[n].output_schema or {}):
            output_changed.append(n)
    return DriftReport(added=sorted(set(new_only) - used_n), removed=sorted(set(old_only) - used_o),
                       renamed=sorted(renamed), reparameterized=dict(sorted(reparam.items())),
                       output_changed=sorted(output_changed))
