"""Task category from what a trajectory touches (apps, ops, entities).

Rules, first match wins:
  version_control       a GitLab branch / commit / merge request / file / pipeline tool
  cross_functional      two or more apps from different domains (HR + Communication, ...)
  multi_entity          two or more apps of one domain, or several entity types in one app
                        with at least one write
  search_orchestration  only reads (LIST / SEARCH / GET)
  crud                  writes on a single entity type
"""
from __future__ import annotations

from typing import Any, List, Sequence

from arena.core.registry import APP_DOMAINS

VERSION_CONTROL_WORDS = ("branch", "commit", "merge_request", "file", "repository", "pipeline", "tree", "push")
READ_OPS = ("LIST", "SEARCH", "GET")


def domain_of(app: str) -> str:
    return APP_DOMAINS.get(app, app)


def categorize(actions: Sequence[Any], entities: Sequence[str]) -> str:
    """`actions`: the ActionSchema of each step; `entities`: each step's main entity."""
    apps: List[str] = []
    for a in actions:
        if a.app not in apps:
            apps.append(a.app)
    if any(a.app == "gitlab" and any(w in a.tool for w in VERSION_CONTROL_WORDS) for a in actions):
        return "version_control"
    domains = {domain_of(a) for a in apps}
    if len(domains) >= 2:
        return "cross_functional"
    if len(apps) >= 2:
        return "multi_entity"
    if all(a.op in READ_OPS for a in actions):
        return "search_orchestration"
    base = {e.rsplit("_", 1)[-1] for e in entities}
    if len(base) >= 2 and len(actions) >= 2:
        return "multi_entity"
    return "crud"
