"""Multi-node launch: one SLURM task per node, each starting `torchrun` for its node.

The rendezvous comes from the job itself: MASTER_ADDR is the address of the first host of
SLURM_JOB_NODELIST (expanded by `scontrol show hostnames`), MASTER_PORT is derived from the job
id so that concurrent jobs sharing a node do not collide, NODE_RANK is SLURM_NODEID.
Job ids are unique only per controller, and several controllers can share a host (dev
clusters side by side), so the port also hashes SLURM_WORKING_CLUSTER (name:host:port of the
controller, set by SLURM in every job). The range stays below the kernel's ephemeral ports
(32768+) and the dev cluster's daemon ports (20000-40000).
A derived port can still be taken on a shared host; given a folder all nodes see (the job
folder), node 0 instead binds a port that is free right now and hands it to the other nodes
through a file there.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from elab_hpc.hpc.core.atomic import atomic_write_text

PORT_BASE = 10000
PORT_SPAN = 10000


@dataclass(frozen=True)
class Rendezvous:
    master_addr: str
    master_port: int
    nnodes: int
    node_rank: int

    def env(self) -> Dict[str, str]:
        return {"MASTER_ADDR": self.master_addr, "MASTER_PORT": str(self.master_port),
                "NNODES": str(self.nnodes), "NODE_RANK": str(self.node_rank)}


def port_for_job(job_id: str | int, controller: str = "") -> int:
    """Same on every node of a job; array tasks ("123_4") and other controllers get other ports."""
    return PORT_BASE + zlib.crc32(f"{controller}/{job_id}".encode()) % PORT_SPAN


def expand_hostnames(nodelist: str) -> List[str]:
    out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True,
                         text=True, check=True, timeout=30)
    return out.stdout.split()


def node_address(node: str) -> str:
    """NodeAddr of a node (what other nodes can reach), falling back to its name."""
    out = subprocess.run(["scontrol", "show", "node", "-o", node], capture_output=True, text=True,
                         timeout=30)
    for field in out.stdout.split():
        if field.startswith("NodeAddr="):
            return field.split("=", 1)[1]
    return node


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):  # 0: any port the kernel finds free
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free TCP port")


def _handshake_port(folder: Path, name: str, node_rank: int, preferred: int, timeout_s: float) -> int:
    path = folder / name
    if node_rank == 0:
        port = _free_port(preferred)
        atomic_write_text(path, str(port))
        return port
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"node 0 did not publish the master port in {path} within {timeout_s:g}s")
        time.sleep(0.1)
    return int(path.read_text())


def rendezvous_from_slurm(env: Optional[Mapping[str, str]] = None, handshake_dir: Path | str | None = None,
                          timeout_s: float = 120) -> Rendezvous:
    env = os.environ if env is None else env
    try:
        nodelist, job_id = env["SLURM_JOB_NODELIST"], env["SLURM_JOB_ID"]
    except KeyError as exc:
        raise RuntimeError(f"not inside a SLURM job: {exc.args[0]} is not set") from None
    hosts = expand_hostnames(nodelist)
    node_rank = int(env.get("SLURM_NODEID", "0"))
    port = port_for_job(job_id, env.get("SLURM_WORKING_CLUSTER", ""))
    if handshake_dir is not None:
        # one file per run of the job: a requeued job (SLURM_RESTART_COUNT) picks a new port
        name = f".master-port-{job_id}-{env.get('SLURM_RESTART_COUNT', '0')}"
        port = _handshake_port(Path(handshake_dir), name, node_rank, port, timeout_s)
    return Rendezvous(master_addr=node_address(hosts[0]), master_port=port,
                      nnodes=len(hosts), node_rank=node_rank)


def torchrun_command(script: str, args: Sequence[str], rdzv: Rendezvous, nproc_per_node: int = 1,
                     python: str = sys.executable, module: bool = False) -> List[str]:
    """argv of one node's torchrun (static rendezvous: every node knows the master).
    module=True: `script` is a module name, run like `python -m` (its folder is not put first
    on sys.path, where a file such as elab_hpc/commands/arena.py would shadow a package)."""
    return [python, "-m", "torch.distributed.run",
            f"--nnodes={rdzv.nnodes}", f"--node_rank={rdzv.node_rank}",
            f"--nproc_per_node={nproc_per_node}",
            f"--master_addr={rdzv.master_addr}", f"--master_port={rdzv.master_port}",
            *(["--module"] if module else []), script, *args]


def launch_torchrun(script: str, args: Sequence[str] = (), nproc_per_node: int = 1,
                    extra_env: Optional[Mapping[str, str]] = None,
                    handshake_dir: Path | str | None = None) -> int:
    """Run inside each task of a one-task-per-node job: start this node's torchrun, wait, and
    raise if it failed. Returns the node rank. `handshake_dir`: a folder every node sees, to
    agree on a master port that is free (see the module docstring)."""
    rdzv = rendezvous_from_slurm(handshake_dir=handshake_dir)
    env = {**os.environ, **rdzv.env(), **dict(extra_env or {})}
    cmd = torchrun_command(script, args, rdzv, nproc_per_node)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun on node rank {rdzv.node_rank} exited with {proc.returncode}: "
                           f"{' '.join(cmd)}")
    return rdzv.node_rank
