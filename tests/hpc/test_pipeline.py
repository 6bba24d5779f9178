"""Stage pipeline on the local executor: skipping, invalidation, failure + resume, status."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from elab_hpc.config import CONFIG_ROOT, load_pipeline
from elab_hpc.errors import ConfigError
from elab_hpc.hpc.pipeline.runner import Pipeline

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


CHAIN = """
name: chain
run_dir: {run_dir}
cluster: local
stages:
  numbers:
    fn: elab_hpc.hpc.demo_stage:shards
    kind: array
    items: 4
    shards: 2
  gate:
    # fails until a file appears in its work folder: a failure that a re-run alone cannot fix
    command: [sh, -c, 'test -e "$ELAB_WORK_DIR/ready" && echo ok > gate.txt']
    inputs: [numbers]
    outputs: [gate.txt]
  after:
    command: [sh, -c, 'cat "$ELAB_INPUT_GATE/gate.txt" > after.txt']
    inputs: [gate]
    outputs: [after.txt]
"""


@pytest.mark.timeout(240)
def test_failure_blocks_downstream_and_resume_continues(tmp_path):
    cfg = tmp_path / "chain.yaml"
    cfg.write_text(CHAIN.format(run_dir=tmp_path / "run"))
    run_dir = tmp_path / "run"
    cli = [sys.executable, "-m", "elab_hpc.cli", "pipeline"]
    proc = subprocess.run([*cli, "run", str(cfg), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 1 and "stage 'gate' failed" in proc.stderr
    assert manifest(run_dir, "numbers")["status"] == "completed"
    m = manifest(run_dir, "gate")
    assert m["status"] == "failed" and "exited with 1" in m["error"]
    assert manifest(run_dir, "after")["status"] == "blocked"
    st = json.loads(subprocess.run([*cli, "status", str(run_dir), "--json"], capture_output=True,
                                   text=True, check=True).stdout)
    assert {r["stage"]: r["state"] for r in st["stages"]} == {"numbers": "completed", "gate": "failed",
                                                              "after": "blocked"}
    # the environment is fixed; resume keeps the failed stage's work folder and skips `numbers`
    (run_dir / "stages/gate/work/ready").touch()
    proc = subprocess.run([*cli, "resume", str(run_dir)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert manifest(run_dir, "numbers")["runs"] == 1 and manifest(run_dir, "gate")["runs"] == 2
    assert (run_dir / "stages/after/out/after.txt").read_text() == "ok\n"
    table = subprocess.run([*cli, "status", str(run_dir)], capture_output=True, text=True, check=True).stdout
    assert table.count("completed") == 3


def test_unimportable_stage_function_rejected_before_anything_runs(tmp_path):
    cfg = load_pipeline(DEMO, [f"run_dir={tmp_path}/run", "stages.merge.fn=elab_hpc.hpc.demo_stage:mrege"])
    with pytest.raises(ConfigError, match=r"stages\.merge\.fn: cannot import"):
        Pipeline(cfg, show=False).run()
    assert not (tmp_path / "run").exists()


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


@pytest.mark.timeout(120)
def test_resume_records_a_job_that_finished_after_the_driver_died(tmp_path):
    assert run(tmp_path, "stages.train.params.steps=10")["train"] == "ran"
    # as if the driver had died after submitting: manifest says running, the job's record exists
    m = manifest(tmp_path, "train")
    m["status"], m["outputs"] = "running", {}
    (tmp_path / "stages/train/manifest.json").write_text(json.dumps(m))
    import shutil
    shutil.copytree(tmp_path / "stages/train/out", tmp_path / "stages/train/work/out.partial")
    shutil.rmtree(tmp_path / "stages/train/out")
    assert run(tmp_path, "stages.train.params.steps=10")["train"] == "ran"
    after = manifest(tmp_path, "train")
    assert after["status"] == "completed" and after["runs"] == 1 and set(after["outputs"]) == {"model.pt", "metrics.json"}
