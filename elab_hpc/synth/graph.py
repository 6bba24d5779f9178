"""The tool graph: an edge A → B when an output of A can satisfy an input of B.

Outputs of A are its output schema's properties plus the fields its results were seen to hold
(`observed`, from the harvest: LIST tools declare no output schema, but their items have `id`,
`name`, ...). Both sides go through the same `SlotMap`, so `plane.get_projects` (items with `id`)
feeds `plane.list_labels(workspace_id)`, `gitlab.create_issue` (`iid`) feeds
`gitlab.update_issue(issue_iid)`. Edge attribute `feeds` lists (field, param, kind) with kind
`key` (the value is passed on), `entity` (A produces the entity B consumes) or `mention`
(free text of B refers to a title A returned). No edge joins tools without one of those.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

import networkx as nx

from elab_hpc.synth.memory import SlotMap, entity_of

ENTRY_OPS = ("CREATE", "LIST", "SEARCH")
Feed = Tuple[str, str, str]  # (output field, input param, kind)


def output_fields(action: Any, observed: Optional[Dict[str, Set[str]]] = None) -> Set[str]:
    props = set(((action.output_schema or {}).get("properties") or {}).keys())
    return props | set((observed or {}).get(action.name, ()))


def is_entry(action: Any) -> bool:
    if action.op in ENTRY_OPS:
        return True
    return action.op == "GET" and not any(p.required for p in action.params.values())


@dataclass
class ToolGraph:
    g: nx.DiGraph
    slotmap: SlotMap

    @classmethod
    def build(cls, actions: Iterable[Any], observed: Optional[Dict[str, Set[str]]] = None,
              slotmap: Optional[SlotMap] = None, mentions: bool = True,
              is_fresh: Optional[Callable[[Any, str], bool]] = None) -> "ToolGraph":
        """`is_fresh(action, param)`: parameters that name a new record (never fed by an edge)."""
        slotmap = slotmap or SlotMap()
        acts = list(actions)
        g = nx.DiGraph()
        produced: Dict[str, Dict[str, str]] = {}  # tool -> slot -> field
        for a in acts:
            g.add_node(a.name, app=a.app, op=a.op, entity=entity_of(a), entry=is_entry(a))
            slots: Dict[str, str] = {}
            ent = entity_of(a)
            for fld in sorted(output_fields(a, observed)):
                for slot in slotmap.field_slots(a.app, ent, fld):
                    slots.setdefault(slot, fld)
            produced[a.name] = slots
        # index consumers by slot so the build is O(edges), not O(tools^2 * params)
        consumers: Dict[str, List[Tuple[str, str, str]]] = defaultdict(list)
        for b in acts:
            for param, spec in b.params.items():
                if is_fresh is not None and is_fresh(b, param):
                    continue
                for slot, kind in slotmap.param_slots(b, param, spec.schema):
                    if kind == "mention" and not mentions:
                        continue
                    consumers[slot].append((b.name, param, kind))
        by_name = {a.name: a for a in acts}
        feeds: Dict[Tuple[str, str], List[Feed]] = defaultdict(list)
        for a in acts:
            for slot, fld in produced[a.name].items():
                for bname, param, kind in consumers.get(slot, ()):
                    if bname == a.name:
                        continue
                    feed = (fld, param, kind)
                    if feed not in feeds[(a.name, bname)]:
                        feeds[(a.name, bname)].append(feed)
        # entity-type edges within an app: A produces what B consumes; B's parameter for it
        for a in acts:
            made = {slotmap.entity_key(a.app, e) for e in a.produces}
            for b in acts:
                if b.app != a.app or b.name == a.name:
                    continue
                for param in b.params:
                    if is_fresh is not None and is_fresh(b, param):
                        continue
                    if slotmap.param_slot(b, param).split(":", 1)[1] in made and "id" in output_fields(a, observed):
                        feed = ("id", param, "entity")
                        if not any(f[1] == param for f in feeds[(a.name, b.name)]):
                            feeds[(a.name, b.name)].append(feed)
        for (src, dst), fs in feeds.items():
            strong = any(k != "mention" for _, _, k in fs)
            g.add_edge(src, dst, feeds=fs, key=strong,
                       cross_app=by_name[src].app != by_name[dst].app)
        return cls(g, slotmap)

    # -- queries ---------------------------------------------------------------------
    def successors(self, tool: str, key_only: bool = False) -> List[str]:
        return [t for t in self.g.successors(tool) if not key_only or self.g.edges[tool, t]["key"]]

    def feeds(self, src: str, dst: str) -> List[Feed]:
        return self.g.edges[src, dst]["feeds"] if self.g.has_edge(src, dst) else []

    def entry_nodes(self) -> List[str]:
        return sorted(n for n, d in self.g.nodes(data=True) if d["entry"])

    def key_subgraph(self) -> nx.DiGraph:
        return self.g.edge_subgraph([(u, v) for u, v, d in self.g.edges(data=True) if d["key"]])

    def stats(self) -> Dict[str, Any]:
        key_edges = [(u, v) for u, v, d in self.g.edges(data=True) if d["key"]]
        keyg = nx.DiGraph()
        keyg.add_nodes_from(self.g.nodes)
        keyg.add_edges_from(key_edges)
        degree: Dict[str, Counter] = defaultdict(Counter)
        for n, d in self.g.nodes(data=True):
            degree[d["app"]]["nodes"] += 1
            degree[d["app"]]["out_key"] += sum(1 for t in keyg.successors(n))
            degree[d["app"]]["in_key"] += sum(1 for t in keyg.predecessors(n))
        comps = list(nx.weakly_connected_components(keyg))
        return {
            "nodes": self.g.number_of_nodes(),
            "edges": self.g.number_of_edges(),
            "key_edges": len(key_edges),
            "cross_app_key_edges": sum(1 for u, v in key_edges if self.g.edges[u, v]["cross_app"]),
            "weakly_connected_components": nx.number_weakly_connected_components(self.g),
            "key_components": len(comps),
            "largest_key_component": max((len(c) for c in comps), default=0),
            "isolated_in_key_graph": sum(1 for c in comps if len(c) == 1),
            "entry_nodes": len(self.entry_nodes()),
            "per_app": {app: dict(c) for app, c in sorted(degree.items())},
        }
