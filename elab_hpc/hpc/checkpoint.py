"""Preemption-safe checkpoints.

Layout of a checkpoint folder::

    ckpt-00000040.pt          torch.save payload, published by atomic rename
    ckpt-00000040.pt.sha256   JSON sidecar {sha256, size, step}, written after the payload

A checkpoint counts only when its sidecar exists and the payload's size and sha256 match it, so
a process killed mid-write (temp file left over, or payload without sidecar) or a truncated /
corrupted file is detected on load; the loader then falls back to the previous good checkpoint
with a warning. Only the last `keep` good checkpoints are kept.
"""
from __future__ import annotations

import io
import json
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from elab_hpc.hpc.core.atomic import atomic_write_json, atomic_write_with, sha256_file

log = logging.getLogger(__name__)

_NAME = re.compile(r"^ckpt-(\d{8})\.pt$")


class CheckpointWarning(UserWarning):
    """A checkpoint was found broken and skipped."""


@dataclass
class Checkpoint:
    step: int
    path: Path
    state: Dict[str, Any]


def _payload(directory: Path, step: int) -> Path:
    return directory / f"ckpt-{step:08d}.pt"


def _sidecar(payload: Path) -> Path:
    return payload.with_name(payload.name + ".sha256")


def list_steps(directory: Path | str) -> List[int]:
    """Steps of all published payloads (good or not), newest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    steps = [int(m.group(1)) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return sorted(steps, reverse=True)


def verify(payload: Path) -> Optional[str]:
    """None if the payload matches its sidecar, else the reason it does not."""
    side = _sidecar(payload)
    if not side.is_file():
        return "no checksum sidecar (write interrupted)"
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable sidecar: {exc}"
    size = payload.stat().st_size
    if size != meta.get("size"):
        return f"size {size} != recorded {meta.get('size')} (truncated)"
    if sha256_file(payload) != meta.get("sha256"):
        return "sha256 mismatch (corrupted)"
    return None


def save_checkpoint(directory: Path | str, step: int, state: Dict[str, Any], keep: int = 3) -> Path:
    """Atomically write `state` as the checkpoint of `step`; keep the newest `keep` good ones."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    payload = _payload(d, step)
    # the payload streams to a temp file while being hashed, then is renamed into place
    sha, size = atomic_write_with(payload, lambda f: torch.save(state, f))
    atomic_write_json(_sidecar(payload), {"sha256": sha, "size": size, "step": step})
    _prune(d, keep)
    return payload


def _prune(d: Path, keep: int) -> None:
    good = 0
    for step in list_steps(d):
        payload = _payload(d, step)
        if good < keep:
            if verify(payload) is None:
                good += 1
            continue
        for p in (payload, _sidecar(payload)):
            p.unlink(missing_ok=True)
    # temp files of writes that were killed
    for tmp in d.glob(".ckpt-*.tmp"):
        tmp.unlink(missing_ok=True)


def load_latest(directory: Path | str, map_location: str = "cpu") -> Optional[Checkpoint]:
    """The newest checkpoint that verifies, or None. Broken ones are skipped with a warning."""
    d = Path(directory)
    for step in list_steps(d):
        payload = _payload(d, step)
        reason = verify(payload)
        if reason is None:
            try:
                state = torch.load(io.BytesIO(payload.read_bytes()), map_location=map_location,
                                   weights_only=True)
            except Exception as exc:  # checksum matched but the content does not unpickle
                reason = f"cannot load: {exc}"
            else:
                return Checkpoint(step=step, path=payload, state=state)
        msg = f"skipping checkpoint {payload}: {reason}; trying the previous one"
        log.warning(msg)
        warnings.warn(msg, CheckpointWarning, stacklevel=2)
    return None
