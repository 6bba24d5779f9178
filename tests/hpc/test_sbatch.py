"""The plain sbatch templates under sbatch/: static checks, and real runs on the dev cluster."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SBATCH_DIR = REPO / "sbatch"
TEMPLATES = ["synth_array.sbatch", "eval_array.sbatch", "train_multinode.sbatch", "build_images.sbatch"]
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
         "DEADLINE", "PREEMPTED")


# --------------------------------------------------------------------------- static checks

def test_every_template_is_present():
    assert sorted(p.name for p in SBATCH_DIR.glob("*.sbatch")) == sorted(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_passes_bash_n_and_shellcheck(name):
    path = SBATCH_DIR / name
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    # every severity (style and info included): a clean template prints nothing
    lint = subprocess.run(["shellcheck", "--severity=style", "--shell=bash", str(path)],
                          capture_output=True, text=True)
    assert lint.returncode == 0 and lint.stdout == "", lint.stdout + lint.stderr


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_documents_every_variable_and_has_requeue_directives(name):
    text = (SBATCH_DIR / name).read_text()
    header = text.split("\nset -", 1)[0]
    doc = "\n".join(line for line in header.splitlines() if not line.startswith("#SBATCH"))
    # variables a user may set: those read with a default, ${NAME:-...}, other than SLURM's own
    user_vars = {v for v in re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", text) if not v.startswith("SLURM_")}
    assert "ELAB_CMD" in user_vars
    for var in sorted(user_vars):
        assert re.search(rf"^#\s+{var}\s+\S", doc, re.M), f"{name}: ${var} is not documented"
    assert re.search(r"^# Examples?:\n#\s+.*sbatch .*" + re.escape(name), doc, re.M), f"{name}: no example"
    directives = re.findall(r"^#SBATCH (\S+)", header, re.M)
    assert "--partition=cpu" in directives and "--requeue" in directives
    assert any(re.fullmatch(r"--signal=B:USR2@\d+", d) for d in directives), directives
    assert re.search(r"^trap forward_usr2 USR2$", text, re.M)


# --------------------------------------------------------------------------- dev cluster runs

def job_env(**extra: str) -> dict:
    """The test's environment (SLURM_CONF of the dev cluster) with this venv first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env.update(extra)
    return env


def sbatch(args: list, env: dict, cwd: Path) -> str:
    proc = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().split(";")[0]


def wait_final(job_id: str, tasks: int, timeout: float) -> dict:
    """JobID -> State once sacct shows `tasks` rows, all in a final state."""
    deadline = time.monotonic() + timeout
    states: dict = {}
    while time.monotonic() < deadline:
        out = subprocess.run(["sacct", "-j", job_id, "-X", "-n", "-P", "-o", "JobID,State"],
                             capture_output=True, text=True).stdout
        states = {jid: state.split()[0] for jid, state in
                  (line.split("|") for line in out.splitlines() if line)}
        if len(states) >= tasks and all(s in FINAL for s in states.values()):
            return states
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} not finished after {timeout}s: {states}")


def logs(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.glob("*.out")))


SHARD_WRITER = (
    "import json, os, sys; a = sys.argv; out = a[a.index('--out') + 1]; "
    "shard = int(a[a.index('--shard') + 1]); n = int(a[a.index('--num-shards') + 1]); "
    "json.dump(dict(shard=shard, num_shards=n, task=os.environ['SLURM_ARRAY_TASK_ID'], "
    "node=os.environ['SLURMD_NODENAME'], step=os.environ.get('SLURM_STEP_ID')), "
    "open(os.path.join(out, 'shard-%d.json' % shard), 'w'))"
)


@pytest.mark.slurm
@pytest.mark.timeout(180)
def test_synth_array_runs_8_shards_and_sacct_reports_completed(devcluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    # a quoted one-liner: ELAB_CMD is a shell command line
    env = job_env(ELAB_CMD=f"{shlex.quote(sys.executable)} -c {shlex.quote(SHARD_WRITER)}")
    job = sbatch(["--array=0-7", f"--output={tmp_path}/%A_%a.out",
                  str(SBATCH_DIR / "synth_array.sbatch"), "--out", str(out)], env, tmp_path)
    states = wait_final(job, 8, timeout=150)
    assert states == {f"{job}_{i}": "COMPLETED" for i in range(8)}, (states, logs(tmp_path))
    records = [json.loads((out / f"shard-{i}.json").read_text()) for i in range(8)]
    assert [r["shard"] for r in records] == list(range(8))
    assert {r["num_shards"] for r in records} == {8}
    assert [r["task"] for r in records] == [str(i) for i in range(8)]
    assert all(r["step"] is not None for r in records)  # ran inside an srun step
    assert {r["node"] for r in records} <= {"node1", "node2"}


CHECKPOINTING_SHARD = '''\
import os, signal, sys, time
a = sys.argv; out = a[a.index("--out") + 1]; shard = a[a.index("--shard") + 1]
ckpt = os.path.join(out, "ckpt-" + shard)
if os.path.exists(ckpt):  # the requeued run: resume from the checkpoint
    with open(os.path.join(out, "done-" + shard), "w") as f:
        f.write(open(ckpt).read() + " restarts=" + os.environ.get("SLURM_RESTART_COUNT", "0"))
    sys.exit(0)
def checkpoint(signum, frame):
    with open(ckpt, "w") as f:
        f.write("step=42")
    sys.exit(0)
signal.signal(signal.SIGUSR2, checkpoint)
open(os.path.join(out, "ready-" + shard), "w").close()
time.sleep(120)
sys.exit(3)  # no USR2 came
'''


def wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout}s"
        time.sleep(0.2)


@pytest.mark.slurm
@pytest.mark.timeout(180)
def test_usr2_reaches_the_step_which_checkpoints_and_the_task_requeues_and_resumes(devcluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "shard.py"
    script.write_text(CHECKPOINTING_SHARD)
    env = job_env(ELAB_CMD=f"{sys.executable} {script}")
    job = sbatch(["--array=0", f"--output={tmp_path}/%A_%a.out",
                  str(SBATCH_DIR / "eval_array.sbatch"), "--out", str(out)], env, tmp_path)
    wait_for(out / "ready-0", timeout=60)
    # what SLURM does at the grace time of --signal=B:USR2@...: signal the batch shell only
    subprocess.run(["scancel", "--batch", "--signal=USR2", f"{job}_0"], check=True, env=env)
    wait_for(out / "done-0", timeout=120)
    assert (out / "done-0").read_text() == "step=42 restarts=1"
    states = wait_final(job, 1, timeout=60)
    assert states == {f"{job}_0": "COMPLETED"}, (states, logs(tmp_path))
    log = logs(tmp_path)
    assert "USR2 received, forwarding to the step" in log and "requeueing" in log, log


@pytest.mark.slurm
@pytest.mark.timeout(240)
def test_train_multinode_runs_torchrun_gloo_allreduce_on_node1_and_node2(devcluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = job_env(ELAB_CMD=f"{sys.executable} {REPO / 'tests' / 'hpc' / 'allreduce_gloo.py'}",
                  OMP_NUM_THREADS="1")
    job = sbatch(["-N", "2", f"--output={tmp_path}/%j.out",
                  str(SBATCH_DIR / "train_multinode.sbatch"), "--out", str(out)], env, tmp_path)
    states = wait_final(job, 1, timeout=200)
    assert states == {job: "COMPLETED"}, (states, logs(tmp_path))
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["sum"] for r in ranks] == [3.0, 3.0]  # (0 + 1) + (1 + 1)
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert {r["node"] for r in ranks} == {"node1", "node2"}
    assert sorted(r["node_id"] for r in ranks) == ["0", "1"]
    assert {r["nvls"] for r in ranks} == {"0"}
    port = 20000 + int(job) % 20000
    assert {r["master"] for r in ranks} == {ranks[0]["master"]} and ranks[0]["master"].endswith(f":{port}")


CHECKPOINTING_WORKER = '''\
import os, signal, sys, time
out = sys.argv[sys.argv.index("--out") + 1]; rank = os.environ["RANK"]
ckpt = os.path.join(out, "ckpt-" + rank)
if os.path.exists(ckpt):  # the requeued run
    with open(os.path.join(out, "done-" + rank), "w") as f:
        f.write("restarts=" + os.environ.get("SLURM_RESTART_COUNT", "0"))
    sys.exit(0)
def checkpoint(signum, frame):
    open(ckpt, "w").close()
    sys.exit(0)
signal.signal(signal.SIGUSR2, checkpoint)
open(os.path.join(out, "ready-" + rank), "w").close()
time.sleep(120)
sys.exit(3)
'''


@pytest.mark.slurm
@pytest.mark.timeout(180)
def test_train_multinode_forwards_usr2_to_the_workers_on_both_nodes_then_requeues(devcluster, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(CHECKPOINTING_WORKER)
    env = job_env(ELAB_CMD=f"{sys.executable} {script}")
    job = sbatch(["-N", "2", f"--output={tmp_path}/%j.out", str(SBATCH_DIR / "train_multinode.sbatch"),
                  "--out", str(out)], env, tmp_path)
    for rank in (0, 1):
        wait_for(out / f"ready-{rank}", timeout=60)
    # torchrun itself would die of USR2; the per-node launcher must hand it to the workers only
    subprocess.run(["scancel", "--batch", "--signal=USR2", job], check=True, env=env)
    for rank in (0, 1):
        wait_for(out / f"done-{rank}", timeout=120)
        assert (out / f"done-{rank}").read_text() == "restarts=1"
    states = wait_final(job, 1, timeout=60)
    assert states == {job: "COMPLETED"}, (states, logs(tmp_path))
