"""Sharded runs on the real executors: shards + merge equal a single run with the same seeds
(local executor, and SLURM on the dev cluster), a killed shard resumes with no duplicates and no
gaps, test-split exclusion, bad input rejected before anything runs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elab_hpc.errors import ConfigError, UserError
from elab_hpc.synth.records import read_jsonl
from elab_hpc.synth.run import chunk_path, load_synth_config, merge, num_chunks, read_progress, run, run_shard

SMALL = ["n=30", "output.chunk_size=8", "output.oversample=1.5"]


def _comparable(path: Path):
    """Records without the shard index (the one field that says where a chunk ran)."""
    out = []
    for rec in read_jsonl(path):
        rec["meta"].pop("shard", None)
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "single"
    cfg = load_synth_config(None, SMALL + ["shards=1"])
    run_shard(cfg, out, 0, 1, show=False)
    stats = merge(out, show=False)
    return out, stats


def test_single_run_outputs(single_run):
    out, stats = single_run
    for name in ("train.jsonl", "train.parquet", "dpo.jsonl", "stats.json", "report.md", "plots/domains.png",
                 "plots/turns.png"):
        assert (out / name).is_file(), name
    recs = list(read_jsonl(out / "train.jsonl"))
    assert len(recs) == stats["counts"]["selected"] == 30
    assert all(r["validation"]["valid"] for r in recs)
    assert stats["counts"]["candidates"] == 45
    report = (out / "report.md").read_text()
    assert "Self-BLEU" in report and f"{stats['quality']['unique_tools']}" in report


def test_shards_and_merge_equal_a_single_run(tmp_path, single_run):
    out, _ = single_run
    cfg = load_synth_config(None, SMALL + ["shards=3", "cluster=local"])
    stats = run(cfg, tmp_path / "sharded", show=False)  # an array job of 3 local processes
    assert stats["counts"] == json.loads((out / "stats.json").read_text())["counts"]
    assert _comparable(tmp_path / "sharded" / "train.jsonl") == _comparable(out / "train.jsonl")
    assert list(read_jsonl(tmp_path / "sharded" / "dpo.jsonl")) == list(read_jsonl(out / "dpo.jsonl"))
    shards_seen = {r["meta"]["shard"] for r in read_jsonl(tmp_path / "sharded" / "train.jsonl")}
    assert shards_seen == {0, 1, 2}


def test_killed_shard_resumes_without_duplicates_or_gaps(tmp_path):
    overrides = ["n=40", "output.chunk_size=3", "output.oversample=1.5"]  # 20 chunks
    cfg = load_synth_config(None, overrides)
    total = num_chunks(cfg)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "elab_hpc.cli", "synth", "shard", "--shard", "0", "--num-shards", "1",
           "--out", str(out), "--quiet", *overrides]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(read_progress(out, 0)["chunks"])
        if done >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"shard ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    published = sorted(int(p.stem.split("-")[1]) for p in (out / "shards").glob("chunk-*.jsonl"))
    assert 2 <= len(published) < total
    assert published == list(range(len(published)))  # chunks are published in order
    summary = run_shard(cfg, out, 0, 1, show=False)  # the rerun (what a requeued array task does)
    assert summary["resumed_from"] >= 2
    ref = tmp_path / "uninterrupted"
    run_shard(cfg, ref, 0, 1, show=False)
    for c in range(total):
        assert list(read_jsonl(chunk_path(out, c))) == list(read_jsonl(chunk_path(ref, c))), c
    ids = [r["id"] for c in range(total) for r in read_jsonl(chunk_path(out, c))]
    ref_ids = [r["id"] for c in range(total) for r in read_jsonl(chunk_path(ref, c))]
    assert ids == ref_ids and len(ids) == 60
    assert len(read_progress(out, 0)["chunks"]) == total


def test_test_split_exclusion(tmp_path, single_run):
    out, stats = single_run
    run_dir = tmp_path / "excl"
    shutil.copytree(out, run_dir)
    recs = list(read_jsonl(out / "train.jsonl"))
    split = tmp_path / "test_split.jsonl"
    split.write_text("\n".join([json.dumps({"intent": recs[0]["task"]["intent"]}),
                                json.dumps({"intent": recs[1]["task"]["intent"], "gold_actions": []}),
                                json.dumps({"gold_actions": recs[2]["task"]["gold_actions"]})]) + "\n")
    new = merge(run_dir, show=False, exclude_tasks=str(split))
    assert new["counts"]["excluded_test_split"] >= 3
    kept = list(read_jsonl(run_dir / "train.jsonl"))
    ids = {r["id"] for r in kept}
    assert not ids & {recs[0]["id"], recs[1]["id"], recs[2]["id"]}
    intents = {r["task"]["intent"] for r in kept}
    assert recs[0]["task"]["intent"] not in intents
    pairs = list(read_jsonl(run_dir / "dpo.jsonl"))
    assert all(p["meta"]["trajectory"] in ids for p in pairs)


def test_merge_names_the_incomplete_shard(tmp_path, single_run):
    out, _ = single_run
    run_dir = tmp_path / "partial"
    shutil.copytree(out, run_dir)
    chunk_path(run_dir, 2).unlink()
    with pytest.raises(UserError, match=r"shards \[0\]"):
        merge(run_dir, show=False)


def test_bad_input_is_rejected_before_anything_runs(tmp_path, capsys):
    from elab_hpc.cli import main

    out = tmp_path / "never"
    rc = main(["synth", "run", "configs/synth/default.yaml", "output.chunksize=3", "--out", str(out)])
    assert rc == 2 and "chunksize" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(ConfigError, match="output.oversample"):
        load_synth_config(None, ["output.oversample=0.5"])
    with pytest.raises(ConfigError, match="exclude_tasks"):
        load_synth_config(None, [f"exclude_tasks={tmp_path / 'missing.jsonl'}"])
    rc = main(["synth", "shard", "--shard", "3", "--num-shards", "2", "--out", str(out)])
    assert rc == 2 and "outside" in capsys.readouterr().err and not out.exists()
    # a run folder made with another config is refused, not mixed
    cfg = load_synth_config(None, SMALL)
    (tmp_path / "mixed").mkdir()
    from elab_hpc.synth.run import write_config

    write_config(cfg, tmp_path / "mixed")
    with pytest.raises(UserError, match="different synth config"):
        write_config(load_synth_config(None, ["n=31"]), tmp_path / "mixed")


@pytest.mark.slurm
def test_shards_on_the_dev_cluster_equal_a_single_run(devcluster, tmp_path, single_run):
    out, _ = single_run
    cfg = load_synth_config(None, SMALL + ["shards=2", "cluster=devcluster"])
    stats = run(cfg, tmp_path / "slurm", show=False)
    assert stats["counts"] == json.loads((out / "stats.json").read_text())["counts"]
    assert _comparable(tmp_path / "slurm" / "train.jsonl") == _comparable(out / "train.jsonl")
