"""The single-host dev SLURM cluster: `DevCluster(run_dir).up() / .down() / .status() / .env()`.
See `cluster.py` for what runs and why; there are no GPUs on it."""
from elab_hpc.hpc.devcluster.cluster import NO_GPU_NOTE, DevCluster, DevClusterError, missing_binaries
from elab_hpc.hpc.devcluster.layout import ENV_RUN_DIR, default_run_dir
from elab_hpc.hpc.devcluster.settings import DevClusterSettings, load_settings, parse_overrides

__all__ = ["DevCluster", "DevClusterError", "DevClusterSettings", "ENV_RUN_DIR", "NO_GPU_NOTE",
           "default_run_dir", "load_settings", "missing_binaries", "parse_overrides"]
