"""Crash-safe file writes: temp file in the same folder + fsync + rename + fsync of the folder.
A reader sees either the old file or the complete new one, never a torn write."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable


def fsync_dir(path: Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HashingWriter:
    """File-like wrapper that hashes and counts what passes through it."""

    def __init__(self, f: BinaryIO):
        self._f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()


def atomic_write_with(path: Path | str, writer: Callable[[HashingWriter], None]) -> tuple[str, int]:
    """Stream into a temp file via `writer`, then publish it at `path`. Returns (sha256, size)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            hw = HashingWriter(f)
            writer(hw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)
    return hw.sha256.hexdigest(), hw.size


def atomic_write_bytes(path: Path | str, data: bytes) -> tuple[str, int]:
    return atomic_write_with(path, lambda f: f.write(data))


def atomic_write_text(path: Path | str, text: str) -> tuple[str, int]:
    return atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path | str, obj: Any) -> tuple[str, int]:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
