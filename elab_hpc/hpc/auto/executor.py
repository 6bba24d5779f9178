"""The user-facing entry: one executor API whatever the backend (like submitit's AutoExecutor)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import List

from elab_hpc.config import ClusterConfig, load_cluster
from elab_hpc.hpc.core.executor import Executor
from elab_hpc.hpc.local.executor import LocalBackend
from elab_hpc.hpc.slurm.executor import SlurmBackend

BACKENDS = {"local": LocalBackend, "slurm": SlurmBackend}


def slurm_available() -> bool:
    """True when sbatch exists and a controller answers (SLURM_CONF or the system config)."""
    if not shutil.which("sbatch"):
        return False
    try:
        return subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def make_executor(cluster: ClusterConfig | str = "local", folder: Path | str | None = None,
                  overrides: List[str] | None = None) -> Executor:
    """An executor for a ClusterConfig or a profile name (configs/cluster/<name>.yaml).
    Job files (pickles, logs) go to `folder`, by default the cluster's `log_dir`."""
    if isinstance(cluster, str):
        cluster = load_cluster(cluster, overrides)
    folder = cluster.log_dir if folder is None else folder
    backend = cluster.backend
    if backend == "auto":
        backend = "slurm" if slurm_available() else "local"
    return BACKENDS[backend](cluster, folder)
