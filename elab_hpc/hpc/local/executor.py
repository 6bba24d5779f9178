"""Local backend: submitit's LocalExecutor. Same job API, signals and Checkpointable support as
SLURM; dependencies are honoured by waiting for the upstream jobs (and failing if they failed)."""
from __future__ import annotations

from typing import Sequence

import submitit

from elab_hpc.errors import ConfigError
from elab_hpc.hpc.core.executor import Executor


class LocalBackend(Executor):
    backend = "local"

    def validate(self) -> None:
        if self.cluster.nodes != 1:
            raise ConfigError(f"cluster.nodes: the local backend runs on one node, got {self.cluster.nodes}")

    def _make(self, after: Sequence[submitit.Job]) -> submitit.LocalExecutor:
        for job in after:  # afterok: upstream must have succeeded; result() raises otherwise
            job.result()
        ex = submitit.LocalExecutor(folder=self.folder / "%j", max_num_timeout=self.cluster.max_requeues)
        ex.update_parameters(timeout_min=self.cluster.time_min, tasks_per_node=self.cluster.tasks_per_node,
                             signal_delay_s=self.cluster.signal_grace_s)
        return ex
