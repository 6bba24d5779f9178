"""A change config (configs/adapt/*.yaml) turned into the changed arena world that evaluation,
synthesis and SFT rendering act on, plus the maps adaptation needs between the two surfaces."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, List, Tuple


def surface_digest(path: str | Path) -> str:
    """What a surface config changes, as a short hash of its content (not its path): part of the
    evaluation fingerprint and the environment's cache key."""
    from elab_hpc.adapt.drift import load_change

    change = load_change(path)
    return hashlib.sha256(repr(sorted(change.__dict__.items())).encode()).hexdigest()[:12]


def changed_world(world: Any, path: str | Path) -> Tuple[Any, List[Any]]:
    """(view of `world` with the surface of `path` applied, the applied changes)."""
    from arena.core.surface import apply_surface

    from elab_hpc.adapt.drift import load_change

    return apply_surface(world, load_change(path))


def renamed_tools(applied: List[Dict[str, Any]]) -> Dict[str, str]:
    """old registry name → new one, for the renamed tools."""
    return {a["tool"]: a["new_tool"] for a in applied if a["kind"] == "rename"}


def renamed_params(applied: List[Dict[str, Any]]) -> Dict[str, Tuple[str, str]]:
    """new registry name → (old parameter, new parameter), for the renamed parameters."""
    return {a["new_tool"]: (a["param"], a["new_param"]) for a in applied if a["kind"] == "param_rename"}


def translate_actions(actions: List[Dict[str, Any]], applied: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Actions of the old surface written in the new one (tool renames, parameter renames): how a
    test-split signature looks after the change, so synthesis on the new surface still excludes it."""
    tools, params = renamed_tools(applied), renamed_params(applied)
    out = []
    for a in actions:
        tool = tools.get(a["tool"], a["tool"])
        args = dict(a.get("args") or {})
        if tool in params and params[tool][0] in args:
            old, new = params[tool]
            args[new] = args.pop(old)
        out.append({**a, "tool": tool, "args": args})
    return out
