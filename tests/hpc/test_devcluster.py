"""The dev SLURM cluster, tested against the real daemons (see `devcluster` in conftest.py)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from elab_hpc.errors import ConfigError
from elab_hpc.hpc.devcluster import DevCluster, DevClusterError
from elab_hpc.hpc.devcluster.watchdog import start_watchdog

pytestmark = pytest.mark.slurm
CLI = [sys.executable, "-m", "elab_hpc.cli"]


def run(*argv: str, timeout: float = 120, env: dict | None = None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{argv} failed ({proc.returncode}): {proc.stderr}{proc.stdout}"
    return proc.stdout


def sacct_states(job_id: str, expected_rows: int, timeout: float = 60) -> dict[str, str]:
    """JobID -> State from sacct, once it lists `expected_rows` final rows (slurmctld sends job
    records to slurmdbd asynchronously, so they may lag the job's end by a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        out = run("sacct", "-j", job_id, "-X", "-n", "-P", "-o", "JobID,State")
        states = dict(line.split("|") for line in out.splitlines() if line)
        done = [s for s in states.values() if s not in ("PENDING", "RUNNING", "REQUEUED")]
        if len(done) >= expected_rows or time.monotonic() > deadline:
            return states
        time.sleep(0.5)


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.timeout(60)
def test_status_shows_two_nodes_in_partitions_cpu_a100_h200(devcluster):
    st = devcluster.status()
    assert st["up"], st
    assert all(d["alive"] and pid_alive(d["pid"]) for d in st["daemons"]), st["daemons"]
    assert {d["name"] for d in st["daemons"]} == {
        "munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd-node1", "slurmd-node2"}
    nodes = {n["name"]: n for n in st["nodes"]}
    assert sorted(nodes) == ["node1", "node2"]
    for node in nodes.values():
        # idle unless another test's jobs are on it right now; never down/not responding
        assert node["state"] in ("idle", "mixed", "allocated"), node
        assert sorted(node["partitions"]) == ["a100", "cpu", "h200"]
        assert node["cpus"] == len(os.sched_getaffinity(0))
    parts = {p["name"]: p for p in st["partitions"]}
    assert sorted(parts) == ["a100", "cpu", "h200"]
    assert [p for p in parts if parts[p]["default"]] == ["cpu"]
    assert st["accounting"]["ok"], st["accounting"]
    assert "no GPUs" in st["gpus"] and st["slurm_version"][:1].isdigit()
    # no Gres anywhere: the GPU partitions are names only
    assert "(null)" in run("sinfo", "-h", "-N", "-o", "%G").split()[0]


@pytest.mark.timeout(120)
def test_array_job_tasks_write_files_and_sacct_reports_completed(devcluster, tmp_path):
    job = run("sbatch", "--parsable", "--wait", "--array=0-7", "-p", "cpu",
              "-o", str(tmp_path / "slurm-%A_%a.out"), "--chdir", str(tmp_path),
              "--wrap", 'echo "$SLURM_ARRAY_TASK_ID $SLURMD_NODENAME" > task_$SLURM_ARRAY_TASK_ID.txt'
              ).strip()
    for i in range(8):
        task_id, node = (tmp_path / f"task_{i}.txt").read_text().split()
        assert task_id == str(i) and node in ("node1", "node2")
    states = sacct_states(job, 8)
    assert sorted(states) == [f"{job}_{i}" for i in range(8)], states
    assert set(states.values()) == {"COMPLETED"}, states


@pytest.mark.timeout(120)
def test_two_node_job_runs_srun_on_node1_and_node2(devcluster, tmp_path):
    out = tmp_path / "two.out"
    job = run("sbatch", "--parsable", "--wait", "-N", "2", "-p", "h200", "-o", str(out),
              "--wrap", 'srun bash -c "echo step-on-\\$SLURMD_NODENAME"').strip()
    lines = sorted(line for line in out.read_text().splitlines() if line.startswith("step-on-"))
    assert lines == ["step-on-node1", "step-on-node2"]
    assert sacct_states(job, 1) == {job: "COMPLETED"}


@pytest.mark.timeout(60)
def test_up_is_idempotent_and_cli_env_points_clients_at_the_cluster(devcluster):
    before = devcluster.daemon_pids()
    assert devcluster.up() == "already up"
    assert devcluster.daemon_pids() == before
    rd = str(devcluster.run_dir)
    assert "already up" in subprocess.run([*CLI, "cluster", "up", "--run-dir", rd],
                                          capture_output=True, text=True, timeout=60).stderr
    st = json.loads(run(*CLI, "cluster", "status", "--run-dir", rd, "--json"))
    assert st["up"] and st["accounting"]["ok"] and len(st["nodes"]) == 2
    # a client shell that knows nothing but `eval "$(elab-hpc cluster env)"`
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    env["ELAB_DEVCLUSTER_DIR"] = rd
    script = f'eval "$({" ".join(CLI)} cluster env)" && sinfo -h -o %R | sort'
    assert run("bash", "-c", script, env=env).split() == ["a100", "cpu", "h200"]


@pytest.mark.timeout(60)
def test_bad_settings_are_rejected_before_anything_starts(devcluster):
    with tempfile.TemporaryDirectory(prefix="elab-dc-", dir="/tmp") as rd:
        with pytest.raises(ConfigError, match="bse_port"):
            DevCluster(rd, {"bse_port": 1})
        with pytest.raises(ConfigError, match="cred_expire"):
            DevCluster(rd, {"cred_expire": 1})
        with pytest.raises(ConfigError, match="default_partition"):
            DevCluster(rd, {"default_partition": "gpu"})
        with pytest.raises(ConfigError, match="unix socket"):
            DevCluster(os.path.join(rd, "x" * 100))
        # the ports of the running session cluster are taken: refused, nothing written
        clash = DevCluster(rd, {"base_port": devcluster.settings.base_port})
        with pytest.raises(ConfigError, match="ports in use"):
            clash.up()
        assert os.listdir(rd) == []
        # the running session cluster is not restarted with other settings
        with pytest.raises(ConfigError, match="oversubscribe"):
            DevCluster(devcluster.run_dir, {"oversubscribe": 2}).up()
        assert devcluster.is_up() and DevCluster(devcluster.run_dir).settings == devcluster.settings
        # the CLI says the same without a traceback, exit status 2
        proc = subprocess.run([*CLI, "cluster", "up", "--run-dir", rd, "oversubscribe=many"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "oversubscribe" in proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.timeout(120)
def test_restart_watchdog_down_by_pid_and_failed_start_cleanup(devcluster):
    """A second, short-lived cluster (~3 s to start) on other ports; the session one stays up."""
    with tempfile.TemporaryDirectory(prefix="elab-dc-", dir="/tmp") as rd:
        cluster = DevCluster.with_free_ports(rd)
        try:
            assert cluster.up() == "started"
            # a dead daemon shows in status, and `up` restarts the cluster as a whole
            ctld = cluster.daemon_pids()["slurmctld"]
            os.kill(ctld, signal.SIGKILL)
            while pid_alive(ctld):  # SIGKILL lands asynchronously
                time.sleep(0.05)
            st = cluster.status()
            assert not st["up"] and st["accounting"]["ok"]
            assert [d["name"] for d in st["daemons"] if not d["alive"]] == ["slurmctld"]
            assert cluster.up() == "started" and cluster.is_up()
            # the owner of a cluster dies without teardown: its watchdog stops every daemon
            owner = subprocess.Popen(["sleep", "60"])
            watchdog = start_watchdog(cluster, owner.pid)
            pids = cluster.daemon_pids()
            owner.kill()
            owner.wait()
            os.waitpid(watchdog, 0)  # it exits once it has stopped the cluster
            assert not any(pid_alive(p) for p in pids.values()), cluster.daemon_pids()
            # down by pid
            assert cluster.up() == "started"
            pids = cluster.daemon_pids()
            assert all(pid_alive(p) for p in pids.values()), pids
            assert sorted(cluster.down()) == sorted(pids)
            assert not any(pid_alive(p) for p in pids.values())
            assert not cluster.is_up() and not cluster.status()["up"]
            assert cluster.down() == []  # nothing left to stop
            # break the MariaDB datadir: mariadbd fails, up reports its log and stops munged
            system_tables = cluster.layout.mariadb_data / "mysql"
            shutil.rmtree(system_tables)
            system_tables.mkdir()
            with pytest.raises(DevClusterError) as err:
                cluster.up(timeout=20)
            msg = str(err.value)
            assert "mariadbd" in msg and "mariadbd.log" in msg and "hint:" in msg
            assert all(p is None for p in cluster.daemon_pids().values())
        finally:
            cluster.down()
