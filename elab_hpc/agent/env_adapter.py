"""What an agent acts on: an environment opened per episode, offering tool schemas and
`call(fn_name, args) -> {"tool", "ok", "result" | "error", "elapsed_s"}`.

`ArenaEnv` runs episodes of the EnterpriseArena through the tool registry: the agent writes
canonical arguments under chat function names (`gitlab__create_issue`), the registry maps them
to the app's native names (`to_native`) and the episode executes them. Any other environment
implements the same two small classes.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any, Dict, List, Optional, Protocol, Sequence

ToolSchema = Dict[str, Any]


class EnvSession(Protocol):
    tools: List[ToolSchema]

    def call(self, fn_name: str, args: Dict[str, Any]) -> Dict[str, Any]: ...

    def state_hash(self) -> Optional[str]: ...

    def close(self) -> None: ...


class Env(Protocol):
    fingerprint: str  # identifies the environment's starting state (part of the cache key)

    def open(self, task: Any, apps: Sequence[str] = ()) -> EnvSession: ...


class ArenaSession:
    def __init__(self, env: "ArenaEnv", apps: Sequence[str]):
        self.env = env
        self.episode = env.world.episode()
        self.actions = [a for a in env.registry if not apps or a.app in set(apps)]
        self.tools = [a.openai_tool() for a in self.actions]

    def call(self, fn_name: str, args: Dict[str, Any]) -> Dict[str, Any]:
        t0 = time.perf_counter()
        action = self.env.registry.by_fn_name(fn_name)
        if action is None:
            return {"tool": fn_name, "ok": False, "elapsed_s": time.perf_counter() - t0,
                    "error": {"code": "unknown_tool", "message": f"no tool named {fn_name!r}"}}
        obs = self.episode.call(action.name, action.to_native(args))
        out = obs.to_dict()
        out["tool"] = action.name
        out["elapsed_s"] = time.perf_counter() - t0
        return out

    def state_hash(self) -> Optional[str]:
        return self.episode.state_hash()

    def close(self) -> None:
        self.episode.close()


class ArenaEnv:
    """The arena at (seed, scale), its registry discovered once over in-process MCP.

    `surface` (a change config, configs/adapt/*.yaml) serves a changed tool surface of the same
    world (arena/core/surface.py): the agent sees and calls only the new versions of those tools."""

    def __init__(self, seed: int = 0, scale: str = "small", apps: Optional[List[str]] = None,
                 surface: str = ""):
        from arena import Arena
        from elab_hpc.env.discovery import discover
        from elab_hpc.env.registry import ToolRegistry
        from elab_hpc.env.sources import SourceConfig

        self.arena = Arena(seed=seed, scale=scale, apps=apps)
        self.world = self.arena.world
        tag = ""
        if surface:
            from elab_hpc.adapt.surface import changed_world, surface_digest

            self.world, _ = changed_world(self.arena.world, surface)
            tag = ":surface-" + surface_digest(surface)
        source = SourceConfig(kind="arena", seed=seed, scale=scale, apps=list(apps or []))
        ep = self.world.episode()  # discovery serves this world's (possibly changed) tools
        try:
            self.registry = ToolRegistry.build(discover([source], episode=ep))
        finally:
            ep.close()
        names = ",".join(sorted(a.name for a in self.registry))
        self.fingerprint = f"arena:{seed}:{scale}{tag}:" + hashlib.sha256(names.encode()).hexdigest()[:12]

    def open(self, task: Any = None, apps: Sequence[str] = ()) -> ArenaSession:
        return ArenaSession(self, apps)
