"""Finished episodes on disk, keyed by (model id, task id, seed, scaffold config hash), so a rerun
or a requeued shard skips what is done. One JSON file per episode under `<root>/<k[:2]>/<k>.json`,
written atomically (temp file + rename): concurrent shards never see a torn record, and a killed
writer leaves no partial one. `export_jsonl` gathers them into one file for downstream tools."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

from elab_hpc.hpc.core.atomic import atomic_write_bytes


def episode_key(model_id: str, task_id: str, seed: int, config_hash: str) -> str:
    blob = json.dumps([model_id, task_id, int(seed), config_hash])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class EpisodeCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        p = self.path(key)
        try:
            data = json.loads(p.read_text())
        except FileNotFoundError:
            self.misses += 1
            return None
        except (ValueError, UnicodeDecodeError):
            # only a file edited or damaged outside the cache gets here: redo that episode
            self.corrupt += 1
            self.misses += 1
            return None
        if not isinstance(data, dict) or data.get("id") != key:
            self.corrupt += 1
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, record: Dict[str, Any]) -> Path:
        p = self.path(record["id"])
        atomic_write_bytes(p, json.dumps(record, ensure_ascii=False, default=str).encode())
        return p

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        for p in sorted(self.root.glob("??/*.json")):
            try:
                yield json.loads(p.read_text())
            except (ValueError, UnicodeDecodeError):
                continue

    def export_jsonl(self, path: str | Path) -> int:
        """All cached episodes as one JSONL file (written atomically); returns the count."""
        lines = [json.dumps(r, ensure_ascii=False, default=str) for r in self]
        atomic_write_bytes(Path(path), ("\n".join(lines) + ("\n" if lines else "")).encode())
        return len(lines)
