"""Preemption-safe checkpoints for TRL/HF trainers, on the HPC layer's rules.

HF's Trainer writes `checkpoint-N/` (model or adapter, optimizer — DeepSpeed shards included —,
scheduler, per-rank RNG states, trainer_state.json with the step, from which the data position
follows). It writes in place, so a job killed mid-save leaves a half folder. `CheckpointPublisher`
publishes a folder only after every rank has finished it: rank 0 writes `elab_checkpoint.json`
(size and sha256 of every file) atomically (`elab_hpc.hpc.core.atomic`), like the sidecars of
`elab_hpc.hpc.checkpoint`. `latest_good_checkpoint` returns the newest folder whose files still
match, skipping broken ones with a `CheckpointWarning`.

`PreemptionCallback` is the USR2 path: SLURM (`--signal=B:USR2@grace`, forwarded to every worker
by sbatch/train_multinode.sbatch) or `scancel --signal=USR2` sets a flag; at the next step end
all ranks agree on it (one all-reduce), save a checkpoint and stop; the job script requeues the
job and the next attempt resumes from that checkpoint.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

from transformers import TrainerCallback

from elab_hpc.hpc.checkpoint import CheckpointWarning
from elab_hpc.hpc.core.atomic import atomic_write_json, sha256_file

log = logging.getLogger(__name__)

MANIFEST = "elab_checkpoint.json"
_DIR = re.compile(r"^checkpoint-(\d+)$")


def _dist():
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def barrier() -> None:
    dist = _dist()
    if dist is not None:
        dist.barrier()


def checkpoint_dirs(output_dir: Path | str) -> List[Path]:
    """checkpoint-N folders, newest first."""
    d = Path(output_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if p.is_dir() and (m := _DIR.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def step_of(path: Path) -> int:
    return int(_DIR.match(path.name).group(1))  # type: ignore[union-attr]


def write_manifest(folder: Path, hash_files: bool = True) -> Dict[str, Any]:
    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            rel = str(p.relative_to(folder))
            files[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p) if hash_files else None}
    manifest = {"step": step_of(folder), "files": files, "written": time.time()}
    atomic_write_json(folder / MANIFEST, manifest)
    return manifest


def verify(folder: Path) -> Optional[str]:
    """None if the checkpoint folder is complete and intact, else why not."""
    mpath = folder / MANIFEST
    if not mpath.is_file():
        return "not published (no manifest: the save was interrupted)"
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable manifest: {exc}"
    for rel, meta in manifest.get("files", {}).items():
        p = folder / rel
        if not p.is_file():
            return f"{rel} is missing"
        if p.stat().st_size != meta["size"]:
            return f"{rel}: size {p.stat().st_size} != recorded {meta['size']} (truncated)"
        if meta.get("sha256") and sha256_file(p) != meta["sha256"]:
            return f"{rel}: sha256 mismatch (corrupted)"
    return None


def latest_good_checkpoint(output_dir: Path | str) -> Optional[Path]:
    for folder in checkpoint_dirs(output_dir):
        reason = verify(folder)
        if reason is None:
            return folder
        msg = f"skipping checkpoint {folder}: {reason}; trying the previous one"
        log.warning(msg)
        warnings.warn(msg, CheckpointWarning, stacklevel=2)
    return None


def prune(output_dir: Path | str, keep: int) -> None:
    """Keep the newest `keep` good checkpoints; drop older ones and broken ones below them."""
    good = 0
    for folder in checkpoint_dirs(output_dir):
        if good < keep:
            if verify(folder) is None:
                good += 1
            continue
        shutil.rmtree(folder, ignore_errors=True)


class CheckpointPublisher(TrainerCallback):
    """After each save: wait for all ranks, then rank 0 publishes the folder and prunes."""

    def __init__(self, keep: int, hash_files: bool = True):
        self.keep, self.hash_files = keep, hash_files

    def on_save(self, args, state, control, **kwargs):
        barrier()  # every rank has written its part (DeepSpeed shards, RNG state)
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                write_manifest(folder, self.hash_files)
                prune(args.output_dir, self.keep)
        barrier()
        return control


class PreemptionCallback(TrainerCallback):
    """On the warning signal: checkpoint at the next step end on every rank, then stop."""

    def __init__(self, signame: str = "USR2"):
        self.signum = getattr(signal, "SIG" + signame)
        self.requested = False
        self.preempted_at: Optional[int] = None
        self._previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(self.signum, self._handler)
        else:  # Python delivers signals to the main thread only; whoever owns it must relay them
            log.warning("training outside the main thread: SIG%s is not handled by the trainer", signame)

    def _handler(self, signum, frame) -> None:
        self.requested = True
        log.warning("signal %s received: checkpointing at the end of this step", signum)

    def request(self) -> None:
        """Ask for a checkpoint-and-stop at the next step end (what the signal does)."""
        self.requested = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(self.signum, self._previous)

    def _agreed(self) -> bool:
        dist = _dist()
        if dist is None:
            return self.requested
        import torch

        # ranks may see the signal at different steps; all must stop at the same one
        # NCCL reduces CUDA tensors only; gloo (CPU) takes host tensors
        device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
        flag = torch.tensor([1 if self.requested else 0], dtype=torch.int32, device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def on_step_end(self, args, state, control, **kwargs):
        if self._agreed():
            self.requested = True
            self.preempted_at = state.global_step
            control.should_save = True
            control.should_training_stop = True
        return control


class MetricsLog(TrainerCallback):
    """Rank 0 appends every log (step, loss, attempt) to metrics.jsonl and mirrors the latest in
    progress.json, so a loss curve spans requeues and anyone can follow a job."""

    def __init__(self, output_dir: Path | str):
        self.dir = Path(output_dir)
        self.attempt = int(os.environ.get("SLURM_RESTART_COUNT", "0"))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return control
        row = {"step": state.global_step, "attempt": self.attempt, "time": time.time(),
               **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")
        atomic_write_json(self.dir / "progress.json", {**row, "max_steps": state.max_steps})
        return control


def read_metrics(output_dir: Path | str) -> List[Dict[str, Any]]:
    p = Path(output_dir) / "metrics.jsonl"
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
