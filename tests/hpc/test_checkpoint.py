"""Checkpoints: atomic writes with checksums, keep-last-K, detection of broken files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from elab_hpc.hpc.checkpoint import CheckpointWarning, list_steps, load_latest, save_checkpoint


def _state(step):
    return {"w": torch.full((8,), float(step)), "step": step}


def test_roundtrip_and_keep_last_k(tmp_path):
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, _state(step), keep=2)
    assert list_steps(tmp_path) == [40, 30]
    ck = load_latest(tmp_path)
    assert ck.step == 40 and torch.equal(ck.state["w"], torch.full((8,), 40.0))


def test_truncated_checkpoint_is_detected_and_previous_used(tmp_path):
    save_checkpoint(tmp_path, 1, _state(1))
    p = save_checkpoint(tmp_path, 2, _state(2))
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.warns(CheckpointWarning, match="truncated"):
        ck = load_latest(tmp_path)
    assert ck.step == 1


def test_corrupted_byte_is_detected(tmp_path):
    save_checkpoint(tmp_path, 1, _state(1))
    p = save_checkpoint(tmp_path, 2, _state(2))
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.warns(CheckpointWarning, match="sha256 mismatch"):
        assert load_latest(tmp_path).step == 1


def test_payload_without_sidecar_counts_as_interrupted(tmp_path):
    save_checkpoint(tmp_path, 1, _state(1))
    p = save_checkpoint(tmp_path, 2, _state(2))
    p.with_name(p.name + ".sha256").unlink()
    with pytest.warns(CheckpointWarning, match="interrupted"):
        assert load_latest(tmp_path).step == 1


def test_empty_folder_has_no_checkpoint(tmp_path):
    assert load_latest(tmp_path / "none") is None


WRITER = textwrap.dedent("""
    import sys, torch
    from elab_hpc.hpc.checkpoint import save_checkpoint
    d = sys.argv[1]
    save_checkpoint(d, 1, {"w": torch.ones(4)})
    print("first", flush=True)
    # ~400 MB: the write takes long enough to be killed in the middle of it
    save_checkpoint(d, 2, {"w": torch.zeros(100_000_000)})
    print("second", flush=True)
""")


@pytest.mark.timeout(120)
def test_kill_9_during_checkpoint_write_leaves_previous_loadable(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "first"
    deadline = time.monotonic() + 60
    # wait until the second payload's temp file is being written, then kill -9
    while not list(tmp_path.glob(".ckpt-00000002.pt.*.tmp")):
        assert time.monotonic() < deadline and proc.poll() is None, "second write never started"
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".ckpt-00000002.pt.*.tmp")), "killed too late: the write had finished"
    ck = load_latest(tmp_path)
    assert ck.step == 1 and torch.equal(ck.state["w"], torch.ones(4))
    # the next save cleans the stale temp file up
    save_checkpoint(tmp_path, 3, {"w": torch.ones(1)})
    assert not list(tmp_path.glob(".ckpt-*.tmp"))
