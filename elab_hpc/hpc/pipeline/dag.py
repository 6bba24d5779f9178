"""The stage graph: order of execution and what lies downstream of a stage."""
from __future__ import annotations

from typing import Dict, List

import networkx as nx

from elab_hpc.errors import ConfigError


def build_graph(stages: Dict[str, Dict]) -> nx.DiGraph:
    g = nx.DiGraph()
    for name, spec in stages.items():
        g.add_node(name)
        for dep in spec.get("inputs", []):
            g.add_edge(dep, name)
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(a for a, _ in nx.find_cycle(g))
        raise ConfigError(f"stages: the inputs form a cycle ({cycle})")
    return g


def execution_order(g: nx.DiGraph) -> List[str]:
    # lexicographic tie-break keeps the order stable between runs
    return list(nx.lexicographical_topological_sort(g))


def downstream(g: nx.DiGraph, name: str) -> List[str]:
    return sorted(nx.descendants(g, name))
