"""The quickstart pipeline on the REAL dev SLURM cluster, shrunk to fit CI: synthesis and
evaluation as array jobs, SFT of the real SmolLM2-135M (LoRA) as a 2-node job (one torchrun per
node, one worker each, gloo) preempted with `scancel --signal=USR2` mid-training, requeued,
resumed from its checkpoint on both nodes; then the report is checked in a real headless Chromium."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from elab_hpc.config import load_pipeline
from elab_hpc.hpc.pipeline.runner import Pipeline
from tests.loop.browser import render

pytestmark = pytest.mark.slurm

QUICKSTART = Path(__file__).resolve().parents[2] / "configs" / "pipeline" / "quickstart.yaml"
APPS = "[browser,filesystem,calendar,invoice,mail]"
SMALL = [  # a few minutes on 2 cores: 3 synthesis chunks, 6 SFT steps on 2 nodes, 2 test tasks per model
    "cluster=devcluster",
    "stages.synth.items=3", "stages.synth.shards=3",
    f'stages.synth.params.overrides=[name=ci,n=24,shards=3,output.chunk_size=16,"arena.apps={APPS}",'
    "exclude_tasks=arena/tasks/data/test_signatures.jsonl]",
    "stages.filter.params.max_tokens=1024",
    "stages.testset.params.limit=2",
    "stages.sft.params.min_rows=3",
    "stages.sft.params.overrides=[data.max_length=1024,optim.max_steps=6,optim.batch_size=1,"
    "checkpoint.every_steps=2,threads=1,lora.last_layers=8]",
    # 2 nodes, one task (= one torchrun with one worker) each; on the stop signal the stage
    # waits up to signal_grace_s - 5 s for the checkpoint (a step takes 15-45 s on the busy
    # 2-core host), and the time limit is far enough that SLURM's own warning never comes
    "stages.sft.kind=multinode",
    "stages.sft.resources={nodes: 2, cpus_per_task: 1, mem_gb: 3, signal_grace_s: 90, time_min: 30}",
    "stages.eval_base.items=1", "stages.eval_base.shards=1", "stages.eval_base.params.num_shards=1",
    "stages.eval_trained.items=1", "stages.eval_trained.shards=1", "stages.eval_trained.params.num_shards=1",
    "stages.filter.params.eval.overrides=[agent.max_turns=2,agent.obs_budget_tokens=128,agent.backend.max_new_tokens=48,agent.backend.cpu_threads=1]",
    "stages.eval_base.params.eval.overrides=[agent.max_turns=2,agent.obs_budget_tokens=128,agent.backend.max_new_tokens=48,agent.backend.cpu_threads=1]",
    "stages.eval_trained.params.eval.overrides=[agent.max_turns=2,agent.obs_budget_tokens=128,agent.backend.max_new_tokens=48,agent.backend.cpu_threads=1]",
]


def read_json(p: Path):
    try:
        return json.loads(p.read_text())
    except (FileNotFoundError, ValueError):
        return None


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def preempted_run(devcluster, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("quickstart") / "run"
    pipe = Pipeline(load_pipeline(QUICKSTART, SMALL), run_dir, show=False)
    box: dict = {}

    def target():
        try:
            box["outcome"] = pipe.run()
        except BaseException as exc:  # re-raised in the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    sft = run_dir / "stages" / "sft"
    # preempt once a checkpoint exists, so the resumed attempt has something to continue from
    wait_for(lambda: "error" in box or (read_json(sft / "work/train/progress.json") or {}).get("step", 0) >= 2,
             420, "2 SFT steps")
    if "error" in box:
        raise box["error"]
    job_id = read_json(sft / "manifest.json")["job_ids"][0]
    subprocess.run(["scancel", "--signal=USR2", job_id], check=True)
    t.join(480)
    assert not t.is_alive(), "pipeline did not finish"
    if "error" in box:
        raise box["error"]
    return {"run_dir": run_dir, "outcome": box["outcome"], "job_id": job_id}


@pytest.mark.timeout(900)
def test_quickstart_on_devcluster_with_preempted_sft_resumes(preempted_run):
    run_dir = preempted_run["run_dir"]
    assert set(preempted_run["outcome"].values()) == {"ran"}
    synth = read_json(run_dir / "stages/synth/manifest.json")
    assert synth["backend"] == "slurm" and len(synth["job_ids"]) == 3  # one array task per chunk
    sft = read_json(run_dir / "stages/sft/manifest.json")
    assert sft["status"] == "completed" and sft["attempts"] == 2 and sft["job_ids"] == [preempted_run["job_id"]]
    train = read_json(run_dir / "stages/sft/out/train.json")
    assert train["steps"] == 6 and train["resumed_from"] and "checkpoint-" in train["resumed_from"]
    # the loss curve spans both attempts
    steps = [json.loads(x)["step"] for x in (run_dir / "stages/sft/out/metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(x)]
    assert set(steps) == set(range(1, 7))
    # one job on both nodes; each attempt ran one torchrun per node, and the preempted attempt's
    # torchruns survived the signal and ended cleanly once the workers had checkpointed
    acct = subprocess.run(["sacct", "-j", preempted_run["job_id"], "-X", "-n", "-P", "-o", "State,NNodes,NodeList"],
                          capture_output=True, text=True).stdout.split()
    assert acct == ["COMPLETED|2|node[1-2]"], acct
    tdir = run_dir / "stages/sft/work/train"
    rows = [json.loads(x) for x in (run_dir / "stages/sft/out/metrics.jsonl").read_text().splitlines()]
    k = max(r["step"] for r in rows if r["attempt"] == 0 and "loss" in r)
    assert [r["step"] for r in rows if r["attempt"] == 0 and "loss" in r] == list(range(1, k + 1))
    assert [r["step"] for r in rows if r["attempt"] == 1 and "loss" in r] == list(range(k + 1, 7))
    assert train["resumed_from"].endswith(f"checkpoint-{k}")  # the preemption checkpoint, no step lost
    for restart, status in ((0, "preempted"), (1, "completed")):
        for node in (0, 1):
            log = (tdir / f"torchrun-restart{restart}-node{node}.log").read_text(errors="replace")
            assert log.startswith(f"elab: node node{node + 1} node_rank {node}/2 job {preempted_run['job_id']} "
                                  f"restart {restart}:"), log[:300]
            assert f'"status": "{status}", "kind": "sft", "step": {k if restart == 0 else 6}' in log, log[-3000:]
            assert log.rstrip().endswith("elab: torchrun exited with 0" + (" after the stop request" if restart == 0 else "")), log[-3000:]
    rep = read_json(run_dir / "stages/report/out/report.json")
    assert set(rep["evals"]) == {"base", "trained"}
    assert all(rep["evals"][k]["overall"]["tasks"] == 2 for k in rep["evals"])
    assert {s["stage"]: s["attempts"] for s in rep["stages"]}["sft"] == 2
    # status through the CLI, then a resume that has nothing left to do
    st = subprocess.run([sys.executable, "-m", "elab_hpc.cli", "pipeline", "status", str(run_dir), "--json"], capture_output=True, text=True)
    assert st.returncode == 0, st.stderr
    assert {r["stage"]: r["state"] for r in json.loads(st.stdout)["stages"]} == {
        n: "completed" for n in ("testset", "synth", "filter", "sft", "eval_base", "eval_trained", "report")}
    again = subprocess.run([sys.executable, "-m", "elab_hpc.cli", "pipeline", "resume", str(run_dir)], capture_output=True, text=True)
    assert again.returncode == 0 and again.stderr.count("up to date, skipped") == 7, again.stderr


@pytest.mark.timeout(300)
def test_run_report_renders_in_chromium_without_console_errors(preempted_run):
    page = preempted_run["run_dir"] / "stages/report/out/report.html"
    html = page.read_text()
    # self-contained: every image inline, no scripts, no external resources
    assert "<script" not in html
    srcs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert srcs and all(s.startswith("data:") for s in srcs), [s[:40] for s in srcs if not s.startswith("data:")]
    got = render(page)
    assert got["returncode"] == 0
    assert got["errors"] == []
    dom = got["dom"]
    for heading in ("Evaluation before / after", "Success per category", "Success per app", "Error taxonomy",
                    "Data quality", "Time and compute per stage", "Cost"):
        assert heading in dom
    assert dom.count("<img") == html.count("<img") >= 5
    assert got["screenshot"][:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(120)
def test_chromium_check_catches_a_broken_page(tmp_path):
    """The console check above can fail: a page with a script error and a console.error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><html><head><link rel="icon" href="data:,"></head><body>'
                   '<script>console.error("report-broken"); missingFunction();</script></body></html>')
    errors = render(bad)["errors"]
    assert any("report-broken" in e for e in errors) and any("missingFunction" in e for e in errors)
