"""Content hashes that decide whether a stage is up to date."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict

from elab_hpc.hpc.core.atomic import sha256_file


def canonical_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def stage_config_hash(stage: Dict[str, Any]) -> str:
    """What the stage computes: everything but `resources` (where it runs does not change it)."""
    return canonical_hash({k: v for k, v in stage.items() if k != "resources"})


def hash_tree(root: Path) -> Dict[str, Dict[str, Any]]:
    """{relative path: {sha256, size}} of every file under root."""
    files: Dict[str, Dict[str, Any]] = {}
    if root.is_dir():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                files[str(p.relative_to(root))] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    return files


def fingerprint(config_hash: str, input_hashes: Dict[str, str], outputs_hash: str) -> str:
    """Identity of a completed stage run; downstream stages take it as their input hash, so any
    upstream change (config, inputs or outputs) invalidates everything below it."""
    return canonical_hash({"config": config_hash, "inputs": input_hashes, "outputs": outputs_hash})
