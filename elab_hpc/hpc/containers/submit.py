"""Image builds as one array job (one task per image) through the project's executor API, on
the cluster profile named by `build_cluster` with `build_resources` applied on top."""
from __future__ import annotations

from pathlib import Path
from typing import List

import submitit

from elab_hpc.config import ClusterConfig, load_cluster, stage_cluster
from elab_hpc.hpc.auto import make_executor
from elab_hpc.hpc.core.executor import Executor
from elab_hpc.hpc.containers.apptainer import run_build
from elab_hpc.hpc.containers.plan import BuildStep
from elab_hpc.hpc.containers.spec import ContainersConfig


def build_cluster(cfg: ContainersConfig) -> ClusterConfig:
    return stage_cluster(load_cluster(cfg.build_cluster), dict(cfg.build_resources), "build_resources")


def jobs_folder(cluster: ClusterConfig) -> Path:
    return Path(cluster.log_dir) / "containers-build"


def describe(cluster: ClusterConfig, n: int) -> str:
    where = f"partition {cluster.partition}" if cluster.partition else "default partition"
    return (f"{n}-task array job on cluster profile '{cluster.name}' (backend {cluster.backend}, {where}, "
            f"{cluster.cpus_per_task} CPU, {cluster.mem_gb:g} GB, {cluster.time_min} min per task)")


def build_executor(cluster: ClusterConfig) -> Executor:
    """The executor for the build array, its request already checked against the cluster (an
    unknown partition or an impossible request fails here, before anything is written)."""
    executor = make_executor(cluster, jobs_folder(cluster))
    executor.validate()
    return executor


def submit_builds(executor: Executor, steps: List[BuildStep]) -> List[submitit.Job]:
    """One array job; task i runs `apptainer build` for steps[i] in its build context."""
    return executor.map_array(run_build, steps)
