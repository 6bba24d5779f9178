"""The manifest JSON of one stage: what ran, with which config and inputs, how it went."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.hpc.core.atomic import atomic_write_json

STATES = ("pending", "running", "completed", "failed", "blocked")


@dataclass
class Manifest:
    stage: str
    kind: str = "single"
    status: str = "pending"
    config_hash: str = ""
    input_hashes: Dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    attempts: int = 0  # executions of the job (1 + requeues); max over the shards of an array
    shard_attempts: Dict[str, int] = field(default_factory=dict)
    runs: int = 0  # times the pipeline (re)submitted this stage
    backend: str = ""
    job_ids: List[str] = field(default_factory=list)
    timings: Dict[str, float] = field(default_factory=dict)
    outputs: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    outputs_hash: str = ""
    items: Dict[str, int] = field(default_factory=dict)  # arrays: total, done
    result: Any = None
    error: Optional[str] = None

    @classmethod
    def path(cls, stage_dir: Path) -> Path:
        return stage_dir / "manifest.json"

    @classmethod
    def load(cls, stage_dir: Path, stage: str) -> "Manifest":
        p = cls.path(stage_dir)
        if not p.is_file():
            return cls(stage=stage)
        data = json.loads(p.read_text())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, stage_dir: Path) -> None:
        atomic_write_json(self.path(stage_dir), asdict(self))
