"""Executors on the REAL dev SLURM cluster: arrays, afterok chains, 2-node torchrun, validation."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import pytest

from elab_hpc.config import load_cluster
from elab_hpc.errors import ConfigError
from elab_hpc.hpc.auto import make_executor
from elab_hpc.hpc.core.executor import wait
from elab_hpc.hpc.slurm.torchrun import launch_torchrun, port_for_job

pytestmark = pytest.mark.slurm
# jobs unpickle the functions below; the test package is not importable there, so ship them by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def square(x: int) -> int:
    return x * x


def write_then_read(path: str, text: str | None) -> str:
    p = Path(path)
    if text is not None:
        time.sleep(1.0)  # a dependent job that started early would find no file
        p.write_text(text)
        return text
    return p.read_text()


def dev(*overrides: str):
    return load_cluster("devcluster", list(overrides))


def scontrol_job(job_id: str) -> str:
    return subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True).stdout


@pytest.mark.timeout(180)
def test_8_task_array_is_one_sbatch_with_requeue_and_signal(devcluster, tmp_path):
    ex = make_executor(dev("array_parallelism=8"), tmp_path)
    jobs = ex.map_array(square, range(8))
    assert len({j.job_id.split("_")[0] for j in jobs}) == 1  # one array job
    info = scontrol_job(jobs[0].job_id)
    assert "Requeue=1" in info
    script = next(tmp_path.rglob("*submission.sh")).read_text()
    assert "--signal=USR2@30" in script and "--requeue" in script
    assert wait(jobs, poll_s=0.5, timeout_s=150, show=False) == [i * i for i in range(8)]


@pytest.mark.timeout(180)
def test_afterok_chain_runs_in_order(devcluster, tmp_path):
    ex = make_executor(dev(), tmp_path / "jobs")
    f = str(tmp_path / "handoff.txt")
    first = ex.submit(write_then_read, f, "from-first")
    second = ex.submit(write_then_read, f, None, after=[first])
    assert f"afterok:{first.job_id}" in scontrol_job(second.job_id).replace("(unfulfilled)", "")
    assert wait([first, second], poll_s=0.5, timeout_s=150, show=False) == ["from-first", "from-first"]


ALLREDUCE = textwrap.dedent("""
    import os, sys, torch, torch.distributed as dist
    dist.init_process_group("gloo")
    t = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(t)
    out = os.path.join(sys.argv[1], f"rank{dist.get_rank()}.txt")
    open(out, "w").write(f"{os.environ['SLURMD_NODENAME']} {dist.get_world_size()} {t.item()}")
    dist.destroy_process_group()
""")


def torchrun_allreduce(script: str, out_dir: str) -> tuple[int, int]:
    import socket

    derived = port_for_job(os.environ["SLURM_JOB_ID"], os.environ["SLURM_WORKING_CLUSTER"])
    with socket.socket() as s:
        if os.environ["SLURM_NODEID"] == "0":  # another program on the host holds the derived port
            s.bind(("", derived))
            s.listen()
        return launch_torchrun(script, [out_dir], nproc_per_node=1, handshake_dir=out_dir), derived


@pytest.mark.timeout(240)
def test_two_node_torchrun_gloo_allreduce(devcluster, tmp_path):
    script = tmp_path / "allreduce.py"
    script.write_text(ALLREDUCE)
    ex = make_executor(dev(), tmp_path / "jobs").with_resources(nodes=2, tasks_per_node=1, mem_gb=2)
    job = ex.submit(torchrun_allreduce, str(script), str(tmp_path))
    results = wait([job], poll_s=0.5, timeout_s=200, show=False)[0]
    assert sorted(r[0] for r in results) == [0, 1]  # one task per node, node ranks 0 and 1
    lines = sorted((tmp_path / f"rank{r}.txt").read_text() for r in (0, 1))
    assert lines == ["node1 2 3.0", "node2 2 3.0"]
    # node 0 found the derived port busy and handed a free one to node 1 through the folder
    derived = results[0][1]
    assert 10000 <= derived < 20000
    assert int((tmp_path / f".master-port-{job.job_id}-0").read_text()) != derived
    # the derived port depends on controller and job id: clusters sharing a host differ
    ports = {port_for_job(job.job_id, f"elabdev:127.0.0.1:{p}") for p in (16817, 16917, 17017)}
    assert len(ports) == 3


def rank0_fails(seconds: float) -> str:
    import submitit

    if submitit.JobEnvironment().global_rank == 0:
        raise RuntimeError("rank 0 broke")
    time.sleep(seconds)
    return "rank 1 slept"


@pytest.mark.timeout(120)
def test_failing_rank_ends_the_whole_multinode_job(devcluster, tmp_path):
    ex = make_executor(dev(), tmp_path / "jobs").with_resources(nodes=2)
    job = ex.submit(rank0_fails, 300)
    t0 = time.monotonic()
    with pytest.raises(Exception, match="rank 0 broke"):
        wait([job], poll_s=0.5, timeout_s=90, show=False)
    assert time.monotonic() - t0 < 90  # rank 1 was not left sleeping for 300 s


def _queued() -> set[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("overrides,match", [
    (["partition=h100"], r"unknown partition 'h100'.*did you mean 'h200'"),
    (["nodes=3"], r"cluster\.nodes: 3 requested but partition 'cpu' has 2 nodes"),
    (["mem_gb=100000"], r"cluster\.mem_gb"),
    (["cpus_per_task=64"], r"cluster\.cpus_per_task"),
    (["gpus_per_node=1"], r"cluster\.gpus_per_node"),
])
def test_impossible_requests_rejected_before_submission(devcluster, tmp_path, overrides, match):
    before = _queued()
    ex = make_executor(dev(*overrides), tmp_path / "jobs")
    with pytest.raises(ConfigError, match=match):
        ex.submit(square, 2)
    assert not (_queued() - before) and not (tmp_path / "jobs").exists()  # nothing new queued


@pytest.mark.timeout(60)
def test_a100_recipe_with_gpus_zero_submits_here(devcluster, tmp_path):
    with pytest.raises(ConfigError, match="cpus_per_task"):
        make_executor(load_cluster("a100"), tmp_path / "a").validate()
    ex = make_executor(load_cluster("a100", ["gpus_per_node=0", "time_min=5"]), tmp_path / "b")
    assert wait([ex.submit(square, 3)], poll_s=0.5, timeout_s=50, show=False) == [9]


@pytest.mark.timeout(30)
def test_auto_backend_picks_slurm_when_a_controller_answers(devcluster, tmp_path):
    ex = make_executor(dev("backend=auto"), tmp_path / "jobs")
    assert ex.backend == "slurm"
    assert make_executor(load_cluster("local"), tmp_path / "l").backend == "local"
