"""The issue's acceptance run on the REAL dev SLURM cluster: a 2-node, 2-process DeepSpeed ZeRO-2
SFT of the tiny model (SmolLM2-135M-Instruct cut to its first 2 layers for speed; CPU, gloo),
submitted by `elab-hpc train sft ... cluster=devcluster nodes=2`, preempted with
`scancel --batch --signal=USR2` (what SLURM does at --signal=B:USR2@grace) mid-run, requeued and
resumed. The loss curve continues from the preemption checkpoint, not from step 0, and the end
result matches an uninterrupted run of the same job.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from elab_hpc.train.checkpointing import read_metrics
from elab_hpc.train.config import load_train
from elab_hpc.train.launch import submit

pytestmark = pytest.mark.slurm

FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED")
STEPS = 10


def sacct(job: str) -> dict:
    out = subprocess.run(["sacct", "-j", job, "-X", "-n", "-P", "-o", "State,NodeList"],
                         capture_output=True, text=True).stdout.strip().splitlines()
    if not out:
        return {}
    state, nodes = out[0].split("|")
    return {"state": state.split()[0], "nodes": nodes}


def wait_until(pred, timeout: float, what: str, poll: float = 0.3):
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(poll)
    return value


def job_log(out: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(out.glob("slurm-*.out")))


def progress_step(out: Path) -> int:
    try:
        return int(json.loads((out / "progress.json").read_text()).get("step", 0))
    except (OSError, ValueError):
        return 0


def final_weights(out: Path):
    from safetensors.torch import load_file

    return load_file(str(out / "final" / "model.safetensors"))


@pytest.mark.timeout(1500)
def test_two_node_zero2_sft_preempted_by_usr2_requeues_and_resumes_to_the_same_result(
        devcluster, tmp_path, short_records):
    runs = {}
    for name in ("reference", "preempted"):
        cfg = load_train("sft_tiny_zero2_2node", [f"output_dir={tmp_path / name}",
                                                  f"data.train={short_records}", f"optim.max_steps={STEPS}"],
                         kind="sft")
        runs[name] = (cfg, submit(cfg)["job_id"])
    ref_out, pre_out = tmp_path / "reference", tmp_path / "preempted"
    pre_job = runs["preempted"][1]

    # mid-run: after the first periodic checkpoint (step 3), well before the last step
    wait_until(lambda: progress_step(pre_out) >= 3 or sacct(pre_job).get("state") in FINAL, 600,
               "the preempted run to reach step 3")
    step_at_signal = progress_step(pre_out)
    assert step_at_signal < STEPS - 2, f"run too fast to preempt mid-run (at {step_at_signal})"
    subprocess.run(["scancel", "--batch", "--signal=USR2", pre_job], check=True)

    # the requeued job is final only once its second attempt wrote result.json
    for name, (cfg, job) in runs.items():
        out = Path(cfg.output_dir)
        wait_until(lambda: sacct(job).get("state") in FINAL and (out / "result.json").exists()
                   or sacct(job).get("state") in ("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"),
                   900, f"{name} job {job} to finish")
    for name, (cfg, job) in runs.items():
        acct = sacct(job)
        assert acct["state"] == "COMPLETED", (name, acct, job_log(Path(cfg.output_dir))[-6000:])
        assert acct["nodes"] == "node[1-2]", acct  # both dev-cluster nodes
    assert json.loads((ref_out / "result.json").read_text())["attempt"] == 0

    # the preempted attempt stopped at a step of its own choosing (not a periodic one) and
    # checkpointed it; the requeued attempt resumed exactly there
    stopped = json.loads((pre_out / "preempted.json").read_text())
    result = json.loads((pre_out / "result.json").read_text())
    k = stopped["step"]
    assert step_at_signal <= k < STEPS and stopped["attempt"] == 0
    assert result["resumed_from"].endswith(f"checkpoint-{k}") and result["attempt"] == 1
    assert result["step"] == STEPS
    log = job_log(pre_out)
    assert "USR2 received, forwarding to the step" in log and "requeueing" in log

    pre_losses = [(r["step"], r["attempt"], r["loss"]) for r in read_metrics(pre_out) if "loss" in r]
    ref_losses = {r["step"]: r["loss"] for r in read_metrics(ref_out) if "loss" in r}
    first = [s for s, a, _ in pre_losses if a == 0]
    second = [s for s, a, _ in pre_losses if a == 1]
    assert first == list(range(1, k + 1))
    assert second == list(range(k + 1, STEPS + 1)), "the curve must continue after the checkpoint"
    assert sorted(ref_losses) == list(range(1, STEPS + 1))
    for step, _, loss in pre_losses:
        assert loss == pytest.approx(ref_losses[step], rel=1e-4, abs=1e-5), step
    assert ref_losses[STEPS] < ref_losses[1]  # it learned something

    ref_w, pre_w = final_weights(ref_out), final_weights(pre_out)
    assert ref_w.keys() == pre_w.keys()
    worst = max(float((ref_w[n] - pre_w[n]).abs().max()) for n in ref_w)
    assert worst < 1e-4, f"final parameters differ by up to {worst}"
