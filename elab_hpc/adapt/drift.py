"""Apply a change config to the arena's tools and check the registry's drift detection against
what was applied (every applied change must be found, nothing else reported)."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.errors import ConfigError


def load_change(path: str | Path):
    """configs/adapt/*.yaml → a validated SurfaceChange (unknown keys and bad values named)."""
    from arena.core.surface import SurfaceChange

    from elab_hpc.config import read_yaml

    data = read_yaml(path)
    known = {f.name for f in fields(SurfaceChange)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {', '.join(sorted(known))}")
    change = SurfaceChange(**data)
    try:
        change.validate()
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return change


def registry_of(world: Any):
    from elab_hpc.env.discovery import discover
    from elab_hpc.env.registry import ToolRegistry
    from elab_hpc.env.sources import SourceConfig

    ep = world.episode()
    try:
        return ToolRegistry.build(discover([SourceConfig(kind="arena")], episode=ep))
    finally:
        ep.close()


def expected_drift(applied: List[Any]) -> Dict[str, Any]:
    """What detect_drift must report for the applied changes (registry names are `app.tool`)."""
    return {"renamed": sorted((a.tool, a.new_tool) for a in applied if a.kind == "rename"),
            "reparameterized": sorted(a.new_tool for a in applied if a.kind in ("param_rename", "param_add")),
            "output_changed": sorted(a.new_tool for a in applied if a.kind == "output_shape")}


def apply_and_detect(change: Any, seed: int = 0, scale: str = "small", apps: Optional[List[str]] = None
                     ) -> Dict[str, Any]:
    """Base arena → changed view → both registries → detect_drift; returns the view, the applied
    changes, the detected drift and how they compare (recall/precision per change type)."""
    from arena import Arena
    from arena.core.surface import apply_surface

    from elab_hpc.env.drift import detect_drift

    base = Arena(seed=seed, scale=scale, apps=apps)
    view, applied = apply_surface(base.world, change)
    report = detect_drift(registry_of(base.world), registry_of(view))
    detected = {"renamed": sorted(tuple(p) for p in report.renamed),
                "reparameterized": sorted(report.reparameterized),
                "output_changed": sorted(report.output_changed)}
    expected = expected_drift(applied)
    scores = {}
    for key in expected:
        e, d = set(map(str, expected[key])), set(map(str, detected[key]))
        scores[key] = {"expected": len(e), "detected": len(d), "found": len(e & d),
                       "recall": len(e & d) / len(e) if e else 1.0, "precision": len(e & d) / len(d) if d else 1.0}
    return {"view": view, "applied": [a.to_dict() for a in applied], "detected": detected,
            "unexpected": {"added": report.added, "removed": report.removed}, "scores": scores,
            "tools_total": len(base.world.tools()), "tools_changed": len(applied)}
