"""SLURM backend: a ClusterConfig becomes submitit `SlurmExecutor` parameters.

Jobs get `--requeue` and `--signal=<signal>@<grace>` so a preempted or timed-out job receives the
warning signal, checkpoints (submitit `Checkpointable`) and is requeued. The job side reads the
signal name from SUBMITIT_PREEMPT_SIGNAL, which the sbatch script exports.
"""
from __future__ import annotations

from typing import Any, Dict, Sequence

import submitit

from elab_hpc.config import job_cpus_per_task, job_mem_gb
from elab_hpc.hpc.core.executor import Executor
from elab_hpc.hpc.slurm.partitions import check_request


def dependency_string(after: Sequence[submitit.Job]) -> str | None:
    return "afterok:" + ":".join(str(j.job_id) for j in after) if after else None


def sbatch_parameters(c, after: Sequence[submitit.Job] = ()) -> Dict[str, Any]:
    """submitit SlurmExecutor parameters for a ClusterConfig (also used to show the sbatch line)."""
    extra: Dict[str, Any] = {"signal": f"{c.signal}@{c.signal_grace_s}"}
    extra["requeue" if c.requeue else "no-requeue"] = True
    extra.update(dict(c.extra_sbatch))
    params: Dict[str, Any] = dict(
        partition=c.partition,
        time=c.time_min,
        nodes=c.nodes,
        ntasks_per_node=c.tasks_per_node,
        cpus_per_task=job_cpus_per_task(c),
        mem=f"{int(round(job_mem_gb(c) * 1024))}MB",
        signal_delay_s=c.signal_grace_s,
        setup=[f"export SUBMITIT_PREEMPT_SIGNAL={c.signal}", *c.setup],
        array_parallelism=c.array_parallelism,
        additional_parameters=extra,
        # one failing task ends the step, instead of its peers waiting in a rendezvous forever
        srun_args=["--kill-on-bad-exit=1"],
    )
    if c.gpus_per_node:
        params["gpus_per_node"] = c.gpus_per_node
    for key in ("account", "qos", "constraint"):
        if getattr(c, key):
            params[key] = getattr(c, key)
    dep = dependency_string(after)
    if dep:
        params["dependency"] = dep
    if c.partition is None:
        params.pop("partition")
    return params


class SlurmBackend(Executor):
    backend = "slurm"

    def validate(self) -> None:
        check_request(self.cluster)

    def _make(self, after: Sequence[submitit.Job]) -> submitit.SlurmExecutor:
        ex = submitit.SlurmExecutor(folder=self.folder / "%j", max_num_timeout=self.cluster.max_requeues)
        ex.update_parameters(**sbatch_parameters(self.cluster, after))
        return ex
