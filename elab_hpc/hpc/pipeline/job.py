"""The callable that runs one stage (or one shard of an array stage) inside a job.

It is a submitit `Checkpointable`: on the warning signal (USR2 by default) submitit calls
`checkpoint()` in the main thread. The stage function runs in a worker thread, so `checkpoint()`
can ask it to stop at a safe point (`ctx.stop_requested()`), wait for it to save its state, and
hand submitit a fresh copy of this job to requeue. Only global rank 0 checkpoints and requeues
(submitit's handler returns early on the other ranks, which are ended by the requeue).
Every execution bumps an attempt counter on disk, so the manifest shows requeues; after
`max_requeues` requeues the job is not requeued again.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import submitit
from submitit.helpers import Checkpointable, DelayedSubmission

from elab_hpc.errors import ConfigError
from elab_hpc.hpc.core.atomic import atomic_write_json
from elab_hpc.hpc.pipeline.context import Preempted, StageContext

log = logging.getLogger(__name__)


def import_fn(path: str) -> Callable[[StageContext], Any]:
    """'package.module:function' → the function."""
    module, _, name = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"fn: cannot import '{path}': {exc}") from None
    if not callable(fn):
        raise ConfigError(f"fn: '{path}' is not callable")
    return fn


def _job_env() -> tuple[str, int]:
    try:
        env = submitit.JobEnvironment()
        return str(env.job_id), int(env.global_rank)
    except RuntimeError:  # called outside a submitit job (in-process run)
        return f"pid{os.getpid()}", 0


def _run_command(argv: List[str], ctx: StageContext) -> Dict[str, Any]:
    env = {**os.environ, "ELAB_OUT_DIR": str(ctx.out_dir), "ELAB_WORK_DIR": str(ctx.work_dir),
           "ELAB_INPUTS": json.dumps({k: str(v) for k, v in ctx.inputs.items()}),
           "ELAB_PARAMS": json.dumps(ctx.params), "ELAB_ATTEMPT": str(ctx.attempt)}
    for name, path in ctx.inputs.items():  # ELAB_INPUT_<NAME>: the upstream stage's out/ folder
        env["ELAB_INPUT_" + "".join(c if c.isalnum() else "_" for c in name).upper()] = str(path)
    proc = subprocess.run(argv, cwd=ctx.out_dir, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"command {argv} exited with {proc.returncode}")
    return {"returncode": 0}


class StageJob(Checkpointable):
    def __init__(self, run_dir: str, stage: str, spec: Dict[str, Any], inputs: Dict[str, str],
                 run: int, task: str = "0", items: Optional[List[int]] = None,
                 max_requeues: int = 3, grace_s: int = 30):
        self.run_dir, self.stage, self.spec, self.inputs = run_dir, stage, spec, inputs
        self.run, self.task, self.items = run, task, list(items or [])
        self.max_requeues, self.grace_s = max_requeues, grace_s
        self._ctx: Optional[StageContext] = None
        self._thread: Optional[threading.Thread] = None
        self._attempt = 0

    # runtime state (thread, context) is not part of what gets pickled for the requeue
    def __getstate__(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_ctx", "_thread")}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._ctx, self._thread = None, None

    @property
    def stage_dir(self) -> Path:
        return Path(self.run_dir) / "stages" / self.stage

    def _bump_attempt(self, job_id: str) -> int:
        p = self.stage_dir / "work" / "attempts" / f"run{self.run}-task{self.task}.json"
        data = json.loads(p.read_text()) if p.exists() else {"attempts": 0, "starts": []}
        data["attempts"] += 1
        data["starts"].append({"job_id": job_id, "time": time.time()})
        atomic_write_json(p, data)
        return data["attempts"]

    def __call__(self) -> Dict[str, Any]:
        t0 = time.time()
        job_id, rank = _job_env()
        work = self.stage_dir / "work"
        if rank == 0:
            self._attempt = self._bump_attempt(job_id)
        out_dir = work / ("out.partial" if self.spec.get("kind") != "array" else f"shard-{self.task}")
        out_dir.mkdir(parents=True, exist_ok=True)
        ctx = StageContext(stage=self.stage, params=dict(self.spec.get("params") or {}),
                           out_dir=out_dir, work_dir=work,
                           inputs={k: Path(v) for k, v in self.inputs.items()},
                           attempt=self._attempt, rank=rank, items=self.items)
        self._ctx = ctx
        box: Dict[str, Any] = {}

        t_import = time.time()
        fn = import_fn(self.spec["fn"]) if self.spec.get("fn") else None
        import_s = time.time() - t_import  # the stage's own module (e.g. torch), not bookkeeping

        def target() -> None:
            try:
                if fn is not None:
                    box["result"] = fn(ctx)
                else:
                    box["result"] = _run_command(list(self.spec["command"]), ctx)
            except BaseException as exc:  # handed to the main thread
                box["error"] = exc
                box["traceback"] = traceback.format_exc()

        t_fn = time.time()
        # daemon: a requeue exits the main thread without waiting for a stuck stage function
        self._thread = threading.Thread(target=target, name=f"stage-{self.stage}", daemon=True)
        self._thread.start()
        if rank != 0:
            self._follow_stop_signal(ctx)
        while self._thread.is_alive():
            self._thread.join(0.2)  # short joins keep the main thread responsive to signals
        fn_s = time.time() - t_fn
        if rank != 0 and ctx.stop_requested():
            # rank 0 checkpoints and requeues the whole job; the other ranks just end cleanly
            log.info("%s: rank %d stopped on the preemption signal", self.stage, rank)
            return {"rank": rank, "stopped": True}
        if "error" in box:
            if isinstance(box["error"], Preempted) and not ctx.stop_requested():
                raise RuntimeError(f"{self.stage}: stage raised Preempted without a stop request")
            log.error(box.get("traceback", ""))
            raise box["error"]
        done = {"run": self.run, "task": self.task, "job_id": job_id, "attempt": self._attempt,
                "result": box.get("result"), "fn_s": fn_s, "import_s": import_s,
                "job_s": time.time() - t0,
                "started": t0, "finished": time.time()}
        if rank == 0:
            atomic_write_json(work / f"done-run{self.run}-task{self.task}.json", done)
        return done

    @staticmethod
    def _follow_stop_signal(ctx: StageContext) -> None:
        """On ranks > 0 submitit's handler only logs the signal; ask the stage to stop as well."""
        sig = submitit.JobEnvironment._usr_sig()
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any) -> None:
            ctx.request_stop()
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Optional[DelayedSubmission]:
        """Called by submitit on the warning signal (rank 0): stop at a safe point, requeue."""
        if self._ctx is not None:
            self._ctx.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.grace_s - 5.0))
        if self._attempt > self.max_requeues:
            log.warning("%s: %d requeues reached (max_requeues), not requeueing", self.stage,
                        self._attempt - 1)
            return None
        fresh = StageJob(self.run_dir, self.stage, self.spec, self.inputs, self.run, self.task,
                         self.items, self.max_requeues, self.grace_s)
        return DelayedSubmission(fresh, *args, **kwargs)


def clear_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
