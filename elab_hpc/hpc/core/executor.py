"""The one executor API every backend implements (shaped like submitit's `Executor`).

    ex = make_executor(cluster_cfg, folder)      # elab_hpc.hpc.auto
    job = ex.submit(fn, *args)                   # one job
    jobs = ex.map_array(fn, items)               # one array job, one sbatch call
    job2 = ex.submit(fn, after=[job])            # runs only if `job` succeeded (afterok)
    big = ex.with_resources(nodes=2)             # same backend, other resources

Backends translate a `ClusterConfig` into their submitit executor and check it before any
submission (`validate`), so a bad config fails with a `ConfigError` and nothing is queued.
"""
from __future__ import annotations

import abc
import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Iterable, List, Optional, Sequence

import submitit

from elab_hpc.config import ClusterConfig, check_cluster


class Executor(abc.ABC):
    backend: str = "?"

    def __init__(self, cluster: ClusterConfig, folder: Path | str):
        check_cluster(cluster)
        self.cluster = cluster
        self.folder = Path(folder).resolve()  # created at the first submission
        self._validated = False

    # ---- backend hooks
    @abc.abstractmethod
    def _make(self, after: Sequence[submitit.Job]) -> submitit.core.core.Executor:
        """A configured submitit executor; `after` are jobs the new ones depend on."""

    def validate(self) -> None:
        """Raise ConfigError if the cluster config cannot run here. Called before submitting."""

    def _ensure_valid(self) -> None:
        if not self._validated:
            self.validate()
            self._validated = True

    # ---- public API
    def with_resources(self, **overrides: Any) -> "Executor":
        return type(self)(dataclasses.replace(self.cluster, **overrides), self.folder)

    def submit(self, fn: Callable[..., Any], *args: Any, after: Sequence[submitit.Job] = (),
               **kwargs: Any) -> submitit.Job:
        self._ensure_valid()
        return self._make(after).submit(fn, *args, **kwargs)

    def map_array(self, fn: Callable[..., Any], *iterables: Iterable[Any],
                  after: Sequence[submitit.Job] = ()) -> List[submitit.Job]:
        """All items in one array job (a single sbatch call on SLURM)."""
        self._ensure_valid()
        return self._make(after).map_array(fn, *iterables)

    def submit_array(self, fns: Sequence[Callable[[], Any]],
                     after: Sequence[submitit.Job] = ()) -> List[submitit.Job]:
        """Different callables (e.g. one per shard) as one array job."""
        self._ensure_valid()
        return self._make(after).submit_array(list(fns))


def wait(jobs: Sequence[submitit.Job], poll_s: float = 1.0, timeout_s: Optional[float] = None,
         description: str = "jobs", show: bool = True) -> List[Any]:
    """Wait for all jobs with a rich progress bar; return their results (raises on failure)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), disable=not show, transient=True) as progress:
        task = progress.add_task(description, total=len(jobs))
        while True:
            done = sum(1 for j in jobs if j.done())
            progress.update(task, completed=done)
            if done == len(jobs):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{description}: {len(jobs) - done} of {len(jobs)} jobs still running")
            time.sleep(poll_s)
    return [result_of(j) for j in jobs]


def result_of(job: submitit.Job) -> Any:
    """The job's result; a list with one entry per task for multi-task (multi-node) jobs."""
    results = job.results()
    return results[0] if len(results) == 1 else results
