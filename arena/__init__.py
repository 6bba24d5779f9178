"""EnterpriseArena: fifteen enterprise applications as MCP servers over one stateful SQLite backend.

    from arena import Arena
    arena = Arena(seed=0, scale="small")
    with arena.episode() as ep:
        ep.call("frappe.apply_leave", {...})

Layout: `core/` (App/tool framework, world template, episodes, MCP serving), `apps/<name>/`
(one folder per application: schema, tools, seed data), `tasks/` (task suites).
"""
from __future__ import annotations

import os
from pathlib import Path

from arena.core.episode import Episode, Observation
from arena.core.errors import ToolError
from arena.core.registry import APP_NAMES, load_apps
from arena.core.world import SCALES, World


def default_cache_dir() -> Path:
    return Path(os.environ.get("ELAB_CACHE", Path.home() / ".cache" / "elab-hpc")) / "arena"


class Arena:
    """The arena at one (seed, scale): builds its template once and hands out episodes."""

    def __init__(self, seed: int = 0, scale: str = "small", apps: list[str] | None = None,
                 cache: bool = True):
        self.world = World(load_apps(apps), seed=seed, scale=scale,
                           cache_dir=default_cache_dir() if cache else None)

    def episode(self, actor: str | None = None, **kw) -> Episode:
        return self.world.episode(actor=actor, **kw)

    def tools(self, app: str | None = None):
        return self.world.tools(app)


__all__ = ["Arena", "Episode", "Observation", "ToolError", "World", "SCALES", "APP_NAMES", "load_apps"]
