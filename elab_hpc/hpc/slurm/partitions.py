"""What the cluster offers, asked from `sinfo`, and the check of a job request against it.

Run before every submission so that an unknown partition or a request no node can satisfy
(more nodes, CPUs, memory or GPUs than the partition has) is a ConfigError, not a job that
pends forever.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import Dict, List

from elab_hpc.config import ClusterConfig, suggest_key, job_cpus_per_task, job_mem_gb
from elab_hpc.errors import ConfigError, UserError


@dataclass
class NodeInfo:
    name: str
    cpus: int
    mem_mb: int
    gpus: int


@dataclass
class PartitionInfo:
    name: str
    default: bool
    max_time_min: int | None  # None = unlimited
    nodes: List[NodeInfo] = field(default_factory=list)


def _run(cmd: List[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise UserError(f"'{cmd[0]}' not found: SLURM client tools are not installed here") from None
    if out.returncode != 0 and "configuration source" in out.stderr:
        raise UserError("no SLURM controller reachable: set SLURM_CONF (e.g. `eval $(elab-hpc cluster "
                        "env)` after `elab-hpc cluster up`) or use the local cluster profile")
    if out.returncode != 0:
        raise UserError(f"{' '.join(cmd)} failed: {out.stderr.strip() or out.stdout.strip()}")
    return out.stdout


def _gpus(gres: str) -> int:
    total = 0
    for m in re.finditer(r"gpu(?::[\w.-]+)?:(\d+)", gres or ""):
        total += int(m.group(1))
    return total


def _minutes(limit: str) -> int | None:
    """sinfo time limit ([D-]HH:MM:SS, MM:SS, or 'infinite') → minutes."""
    if limit in ("infinite", "UNLIMITED", "n/a", ""):
        return None
    days = 0
    if "-" in limit:
        d, limit = limit.split("-", 1)
        days = int(d)
    parts = [int(p) for p in limit.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return days * 1440 + h * 60 + m + (1 if s else 0)


def query_partitions() -> Dict[str, PartitionInfo]:
    """Partitions with their nodes, from one `sinfo` call (one row per node and partition)."""
    out = _run(["sinfo", "-h", "-N", "-o", "%P|%N|%c|%m|%G|%l"])
    parts: Dict[str, PartitionInfo] = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        pname, node, cpus, mem, gres, limit = line.split("|")
        default = pname.endswith("*")
        pname = pname.rstrip("*")
        info = parts.setdefault(pname, PartitionInfo(pname, default, _minutes(limit)))
        mem_mb = int(re.sub(r"\D.*$", "", mem) or 0)
        info.nodes.append(NodeInfo(node, int(re.sub(r"\D.*$", "", cpus) or 0), mem_mb, _gpus(gres)))
    return parts


def check_request(c: ClusterConfig, parts: Dict[str, PartitionInfo] | None = None) -> PartitionInfo:
    """Raise ConfigError naming the key when the request cannot be met by the partition."""
    parts = query_partitions() if parts is None else parts
    if c.partition is None:
        defaults = [p for p in parts.values() if p.default]
        if not defaults:
            raise ConfigError("cluster.partition: not set and the cluster has no default partition")
        part = defaults[0]
    elif c.partition not in parts:
        known = sorted(parts)
        raise ConfigError(f"cluster.partition: unknown partition '{c.partition}' "
                          f"(sinfo lists: {', '.join(known)}){suggest_key(c.partition, known)}")
    else:
        part = parts[c.partition]
    where = f"partition '{part.name}'"
    if c.nodes > len(part.nodes):
        raise ConfigError(f"cluster.nodes: {c.nodes} requested but {where} has {len(part.nodes)} nodes")
    # nodes able to host one share of the job; the job needs `nodes` of them
    cpus = job_cpus_per_task(c) * c.tasks_per_node
    mem_mb = job_mem_gb(c) * 1024
    checks = [
        ("cluster.cpus_per_task", cpus, "CPUs", lambda n: n.cpus),
        ("cluster.mem_gb", mem_mb, "MB memory", lambda n: n.mem_mb),
        ("cluster.gpus_per_node", c.gpus_per_node, "GPUs", lambda n: n.gpus),
    ]
    for key, need, unit, have in checks:
        best = max(have(n) for n in part.nodes) if part.nodes else 0
        if need > best:
            raise ConfigError(f"{key}: a node needs {need:g} {unit} but the largest node of {where} "
                              f"has {best}")
    fit = [n for n in part.nodes if n.cpus >= cpus and n.mem_mb >= mem_mb and n.gpus >= c.gpus_per_node]
    if len(fit) < c.nodes:
        raise ConfigError(f"cluster.nodes: {c.nodes} nodes with {cpus} CPUs, {mem_mb:g} MB and "
                          f"{c.gpus_per_node} GPUs requested, {where} has {len(fit)}")
    if part.max_time_min is not None and c.time_min > part.max_time_min:
        raise ConfigError(f"cluster.time_min: {c.time_min} exceeds the {part.max_time_min} min "
                          f"limit of {where}")
    return part
