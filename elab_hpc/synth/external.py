"""Synthesis over your own MCP servers: the SynthContext of an external environment
(elab_hpc.env.external), used instead of the arena's when the synth config sets `env`.

Everything downstream is the arena's machinery unchanged: the harvest runs the servers' read
tools, the tool graph links outputs to inputs, walks execute in isolated episodes (reseed +
replay, see env/external.py), checks come from the state view's diff and are re-verified by
replay, and DPO negatives are executed. In read-only exploration (no seed hook) only read tools
exist, so every task asks for facts the final read returned (answer checks).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from elab_hpc.synth.sampler import SynthContext

_CONTEXTS: Dict[Tuple[Any, ...], SynthContext] = {}


def load_external_context(env_config: str, seed: int = 0, exclude_tools: Optional[List[str]] = None,
                          exclude_apps: Optional[List[str]] = None) -> SynthContext:
    """Built once per process and argument set (discovery, first reseed and harvest take about a
    second against a local stdio server)."""
    from elab_hpc.env.external import open_world

    key = (env_config, seed, tuple(exclude_tools or ()), tuple(exclude_apps or ()))
    ctx = _CONTEXTS.get(key)
    if ctx is None or ctx.world._closed:
        world = open_world(env_config)
        ctx = _CONTEXTS[key] = SynthContext.build(world.registry, world, seed=seed, exclude_tools=exclude_tools,
                                                  exclude_apps=exclude_apps)
    return ctx
