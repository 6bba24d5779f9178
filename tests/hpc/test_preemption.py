"""Preemption on the REAL dev SLURM cluster: warning signal → checkpoint → requeue → resume.

The dev cluster runs with cred_expire=10, so a requeued job waits ~10 s (not SLURM's 120 s)
before it starts again; one test per requeue path keeps the wall time small.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from elab_hpc.config import load_pipeline
from elab_hpc.hpc.demo_stage import train_loop
from elab_hpc.hpc.pipeline.runner import Pipeline

pytestmark = pytest.mark.slurm

TRAIN = {"steps": 160, "ckpt_every": 20, "step_delay_s": 0.05, "seed": 3}


def start(tmp_path: Path, stages: dict) -> tuple[threading.Thread, dict]:
    cfg_file = tmp_path / "p.yaml"
    cfg_file.write_text(yaml.safe_dump({"name": "pre", "run_dir": str(tmp_path / "run"),
                                        "cluster": "devcluster", "stages": stages}))
    pipe = Pipeline(load_pipeline(cfg_file), show=False)
    box: dict = {}

    def target():
        try:
            box["outcome"] = pipe.run()
        except BaseException as exc:  # re-raised in the test thread
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def read_json(p: Path):
    try:
        return json.loads(p.read_text())
    except (FileNotFoundError, ValueError):
        return None


def finish(t: threading.Thread, box: dict, timeout: float = 150):
    t.join(timeout)
    assert not t.is_alive(), "pipeline did not finish"
    if "error" in box:
        raise box["error"]
    return box["outcome"]


@pytest.mark.timeout(240)
def test_usr2_checkpoints_requeues_and_resumes_bitwise_identical(devcluster, tmp_path):
    stage = tmp_path / "run/stages/train"
    t, box = start(tmp_path, {"train": {"fn": "elab_hpc.hpc.demo_stage:train", "params": TRAIN,
                                        "outputs": ["model.pt", "metrics.json"]}})
    wait_for(lambda: (read_json(stage / "work/progress.json") or {}).get("step", 0) >= 40, 90,
             "40 training steps")
    job_id = read_json(stage / "manifest.json")["job_ids"][0]
    subprocess.run(["scancel", "--signal=USR2", job_id], check=True)
    assert finish(t, box) == {"train": "ran"}

    m = read_json(stage / "manifest.json")
    assert m["status"] == "completed" and m["attempts"] == 2 and m["job_ids"] == [job_id]
    preempted = read_json(stage / "work/preempted-1.json")
    # checkpoint written at the signal: the second attempt resumed exactly where the first stopped
    assert m["result"]["resumed_from"] == preempted["at_step"] >= 40
    assert m["result"]["attempt"] == 2
    info = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True).stdout
    assert "Restarts=1" in info or "Restarts=1" in subprocess.run(
        ["sacct", "-j", job_id, "-X", "-n", "-o", "Restarts"], capture_output=True, text=True).stdout.replace(" ", "Restarts=")

    # the uninterrupted run, in this process, ends in the same bits
    ref = train_loop(TRAIN, tmp_path / "ref_ckpt", seed=TRAIN["seed"])["model"]
    got = torch.load(stage / "out/model.pt", weights_only=True)
    assert ref.keys() == got.keys() and all(torch.equal(ref[k], got[k]) for k in ref)


@pytest.mark.timeout(240)
def test_scontrol_requeue_of_one_array_task_redoes_only_that_task(devcluster, tmp_path):
    work = tmp_path / "run/stages/shards/work"
    t, box = start(tmp_path, {"shards": {"fn": "elab_hpc.hpc.demo_stage:shards", "kind": "array",
                                         "items": 8, "shards": 4, "params": {"item_delay_s": 2.0}}})
    # shard 1 holds items 2 and 3: requeue it after item 2 is done, while item 3 is computing
    wait_for(lambda: (work / "items/00000002.json").exists(), 90, "item 2")
    first_mark = (work / "items/00000002.json").stat().st_mtime_ns
    array_id = read_json(tmp_path / "run/stages/shards/manifest.json")["job_ids"][1]
    assert array_id.endswith("_1")
    subprocess.run(["scontrol", "requeue", array_id], check=True)
    assert finish(t, box) == {"shards": "ran"}

    m = read_json(tmp_path / "run/stages/shards/manifest.json")
    assert m["status"] == "completed" and m["shard_attempts"] == {"0": 1, "1": 2, "2": 1, "3": 1}
    assert (work / "items/00000002.json").stat().st_mtime_ns == first_mark  # not recomputed
    rows = [json.loads(x) for x in (tmp_path / "run/stages/shards/out/items.jsonl").read_text().splitlines()]
    assert [r["item"] for r in rows] == list(range(8))  # complete, no duplicates, in order
    assert [r["record"]["value"] for r in rows] == [i * i for i in range(8)]


def test_requeue_cap_stops_requeueing_after_max_requeues(tmp_path):
    from submitit.helpers import DelayedSubmission

    from elab_hpc.hpc.pipeline.job import StageJob

    job = StageJob(str(tmp_path), "train", {"fn": "elab_hpc.hpc.demo_stage:train"}, {}, run=1,
                   max_requeues=2, grace_s=5)
    job._attempt = 2  # second execution: one more requeue allowed
    again = job.checkpoint()
    assert isinstance(again, DelayedSubmission) and again.function is not job
    job._attempt = 3  # 1 run + 2 requeues used up
    assert job.checkpoint() is None  # submitit then ends the job instead of requeueing it
