"""Pick the backend from the cluster config: `make_executor(cluster, folder)`."""
from elab_hpc.hpc.auto.executor import make_executor, slurm_available

__all__ = ["make_executor", "slurm_available"]
