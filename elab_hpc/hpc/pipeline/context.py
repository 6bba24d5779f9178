"""What a stage function sees: `fn(ctx) -> optional JSON-able summary`.

Folders of a stage (under RUN_DIR/stages/<name>/):
    out/        published outputs (replaced atomically when a run completes)
    work/       survives requeues: checkpoints, array item markers, partial outputs
A stage may instead be a `command` (argv), run in its output folder with ELAB_OUT_DIR,
ELAB_WORK_DIR, ELAB_INPUT_<NAME> (an upstream out/ folder), ELAB_PARAMS (JSON), ELAB_ATTEMPT.
Long stages poll `ctx.stop_requested()` and, when it is set, save a checkpoint and
`raise Preempted` — the job is then requeued and resumes from that checkpoint.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from elab_hpc.hpc.core.atomic import atomic_write_json, atomic_write_text


class Preempted(Exception):
    """Raised by a stage function after it saved its state in response to the stop signal."""


def item_marker(work_dir: Path, index: int) -> Path:
    return work_dir / "items" / f"{index:08d}.json"


@dataclass
class StageContext:
    stage: str
    params: Dict[str, Any]
    out_dir: Path  # where this run writes its outputs (a staging folder, published at the end)
    work_dir: Path
    inputs: Dict[str, Path]  # upstream stage name -> its published out/ folder
    attempt: int = 1
    rank: int = 0
    items: List[int] = field(default_factory=list)  # array shards: the item indices of this task
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    # ---- preemption
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def checkpoint_dir(self) -> Path:
        return self.work_dir / "checkpoints"

    # ---- outputs
    def write_json(self, name: str, obj: Any) -> Path:
        p = self.out_dir / name
        atomic_write_json(p, obj)
        return p

    def write_text(self, name: str, text: str) -> Path:
        p = self.out_dir / name
        atomic_write_text(p, text)
        return p

    # ---- progress of a long single-job stage (the runner shows it beside the stage's bar)
    def report_progress(self, done: int, total: int, note: str = "") -> None:
        atomic_write_json(progress_file(self.work_dir), {"done": done, "total": total, "note": note})

    # ---- array items: one marker per item, written atomically, so a requeued shard resumes
    def pending_items(self) -> Iterator[int]:
        """This shard's items without a marker; stops early (raising Preempted) on the signal."""
        for i in self.items:
            if self.stop_requested():
                raise Preempted(f"{self.stage}: stopped before item {i}")
            if not item_marker(self.work_dir, i).exists():
                yield i

    def complete_item(self, index: int, record: Any) -> None:
        atomic_write_json(item_marker(self.work_dir, index), {"item": index, "record": record})


def progress_file(work_dir: Path) -> Path:
    return work_dir / "progress.json"


def read_progress(work_dir: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads(progress_file(work_dir).read_text())
    except (OSError, ValueError):
        return None


def read_item(work_dir: Path, index: int) -> Optional[Any]:
    p = item_marker(work_dir, index)
    if not p.exists():
        return None
    return json.loads(p.read_text())["record"]
