"""Stage pipeline on the local executor: skipping, invalidation, failure + resume, status."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from elab_hpc.config import CONFIG_ROOT, load_pipeline
from elab_hpc.hpc.pipeline.runner import Pipeline, StageFailed

DEMO = CONFIG_ROOT / "pipeline" / "hpc_demo.yaml"
SMALL = ["stages.shards.items=6", "stages.shards.shards=2", "stages.shards.params.item_delay_s=0",
         "stages.train.params.steps=40", "stages.train.params.ckpt_every=10"]


def run(run_dir, *overrides):
    cfg = load_pipeline(DEMO, [f"run_dir={run_dir}", *SMALL, *overrides])
    return Pipeline(cfg, show=False).run()


def manifest(run_dir, stage):
    return json.loads((run_dir / "stages" / stage / "manifest.json").read_text())


@pytest.mark.timeout(240)
def test_skip_and_invalidation_downstream_only(tmp_path):
    assert run(tmp_path) == {"shards": "ran", "merge": "ran", "train": "ran"}
    m = manifest(tmp_path, "shards")
    assert m["status"] == "completed" and m["items"] == {"total": 6, "done": 6}
    rows = [json.loads(x) for x in (tmp_path / "stages/shards/out/items.jsonl").read_text().splitlines()]
    assert [r["item"] for r in rows] == list(range(6)) and rows[5]["record"]["value"] == 25
    assert json.loads((tmp_path / "stages/merge/out/numbers.json").read_text()) == {"count": 6, "sum": 55}
    train = manifest(tmp_path, "train")
    assert train["attempts"] == 1 and train["input_hashes"]["merge"] == manifest(tmp_path, "merge")["fingerprint"]
    assert set(train["outputs"]) == {"model.pt", "metrics.json"} and train["job_ids"]

    # unchanged: everything skipped, manifests untouched
    assert run(tmp_path) == {"shards": "skipped", "merge": "skipped", "train": "skipped"}
    assert manifest(tmp_path, "train")["runs"] == 1
    # a config change of the last stage re-runs it only
    assert run(tmp_path, "stages.train.params.lr=0.02") == {"shards": "skipped", "merge": "skipped", "train": "ran"}
    # resources do not change what a stage computes
    assert run(tmp_path, "stages.train.params.lr=0.02", "+stages.train.resources.mem_gb=1")["train"] == "skipped"
    # a change at the top re-runs it and everything downstream
    out = run(tmp_path, "stages.train.params.lr=0.02", "stages.shards.params.offset=1")
    assert out == {"shards": "ran", "merge": "ran", "train": "ran"}
    assert json.loads((tmp_path / "stages/merge/out/numbers.json").read_text())["sum"] == 61
    # deleting a published output makes the stage stale again; it re-creates the same bytes, so
    # its fingerprint is unchanged and train stays up to date
    (tmp_path / "stages/merge/out/numbers.json").unlink()
    out = run(tmp_path, "stages.train.params.lr=0.02", "stages.shards.params.offset=1")
    assert out == {"shards": "skipped", "merge": "ran", "train": "skipped"}


@pytest.mark.timeout(240)
def test_failure_blocks_downstream_and_resume_continues(tmp_path):
    # merge points at a function that does not exist: it fails, train is blocked
    with pytest.raises(StageFailed, match="merge"):
        run(tmp_path, "stages.merge.fn=elab_hpc.hpc.demo_stage:no_such_fn")
    assert manifest(tmp_path, "shards")["status"] == "completed"
    m = manifest(tmp_path, "merge")
    assert m["status"] == "failed" and "no_such_fn" in m["error"]
    assert manifest(tmp_path, "train")["status"] == "blocked"

    cli = [sys.executable, "-m", "elab_hpc.cli", "pipeline"]
    st = json.loads(subprocess.run([*cli, "status", str(tmp_path), "--json"], capture_output=True,
                                   text=True, check=True).stdout)
    assert {r["stage"]: r["state"] for r in st["stages"]} == {"shards": "completed", "merge": "failed",
                                                              "train": "blocked"}
    # fix the config snapshot (as a user would fix the code), then resume: shards is not redone
    snap = tmp_path / "pipeline.yaml"
    snap.write_text(snap.read_text().replace("no_such_fn", "merge"))
    proc = subprocess.run([*cli, "resume", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert manifest(tmp_path, "shards")["runs"] == 1
    assert manifest(tmp_path, "merge")["status"] == manifest(tmp_path, "train")["status"] == "completed"
    table = subprocess.run([*cli, "status", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert "completed" in table and "train" in table


@pytest.mark.timeout(120)
def test_array_resume_redoes_only_missing_items(tmp_path):
    assert run(tmp_path, "stages.shards.items=4")["shards"] == "ran"
    work = tmp_path / "stages/shards/work"
    # simulate a shard that died after item 1: its later markers are gone, the stage failed
    (work / "items/00000003.json").unlink()
    m = manifest(tmp_path, "shards")
    m["status"] = "failed"
    (tmp_path / "stages/shards/manifest.json").write_text(json.dumps(m))
    before = (work / "items/00000000.json").stat().st_mtime_ns
    assert run(tmp_path, "stages.shards.items=4")["shards"] == "ran"
    m = manifest(tmp_path, "shards")
    assert m["status"] == "completed" and list(m["shard_attempts"]) == ["1"]  # only shard 1 resubmitted
    assert (work / "items/00000000.json").stat().st_mtime_ns == before
    rows = (tmp_path / "stages/shards/out/items.jsonl").read_text().splitlines()
    assert [json.loads(r)["item"] for r in rows] == [0, 1, 2, 3]


@pytest.mark.slurm
@pytest.mark.timeout(240)
def test_multinode_stage_runs_one_torchrun_per_node_on_the_dev_cluster(devcluster, tmp_path):
    cfg = tmp_path / "mn.yaml"
    cfg.write_text(f"""
name: mn
run_dir: {tmp_path}/run
cluster: devcluster
stages:
  allreduce:
    fn: elab_hpc.hpc.demo_stage:allreduce
    kind: multinode
    outputs: [allreduce.json]
    resources: {{nodes: 2, tasks_per_node: 4}}
""")
    assert Pipeline(load_pipeline(cfg), show=False).run() == {"allreduce": "ran"}
    m = manifest(tmp_path / "run", "allreduce")
    assert m["status"] == "completed" and m["attempts"] == 1 and len(m["job_ids"]) == 1
    assert m["result"] == {"world_size": 2, "sum": 3.0, "nodes": ["node1", "node2"]}
    script = next((tmp_path / "run/stages/allreduce/jobs").rglob("*submission.sh")).read_text()
    assert "--nodes=2" in script and "--ntasks-per-node=1" in script  # kind multinode: 1 task/node


@pytest.mark.slurm
@pytest.mark.timeout(240)
def test_resume_after_the_driver_is_killed_reattaches_to_running_job(devcluster, tmp_path):
    import os
    import signal
    import time

    cli = [sys.executable, "-m", "elab_hpc.cli", "pipeline"]
    run_dir = tmp_path / "run"
    driver = subprocess.Popen([*cli, "run", str(DEMO), "cluster=devcluster", f"run_dir={run_dir}", *SMALL,
                               "stages.train.params.step_delay_s=0.1", "--quiet"])
    train = run_dir / "stages/train/manifest.json"
    deadline = time.monotonic() + 120
    while not (train.exists() and json.loads(train.read_text())["status"] == "running"):
        assert time.monotonic() < deadline and driver.poll() is None
        time.sleep(0.2)
    os.kill(driver.pid, signal.SIGKILL)  # the driver dies; its SLURM job keeps running
    driver.wait()
    job_id = json.loads(train.read_text())["job_ids"][0]
    proc = subprocess.run([*cli, "resume", str(run_dir)], capture_output=True, text=True, timeout=200)
    assert proc.returncode == 0, proc.stderr
    assert f"re-attached to running jobs {job_id}" in proc.stderr
    m = manifest(run_dir, "train")
    assert m["status"] == "completed" and m["runs"] == 1 and m["job_ids"] == [job_id] and m["attempts"] == 1
