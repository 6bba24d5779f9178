"""Where a training run starts.

`run_local(cfg)` trains in this process (or as one torchrun worker: RANK/WORLD_SIZE come from the
environment): resume from the latest good checkpoint, train with the checkpoint and preemption
callbacks, save the final model, write `result.json`. A run stopped by USR2 returns status
"preempted" after checkpointing; the job script requeues it.

`submit(cfg)` sends the same command to a SLURM cluster (`cluster=devcluster|a100|h200`): the
cluster profile is loaded and checked against `sinfo` by the HPC layer before anything is
queued, then `sbatch/train_multinode.sbatch` starts one torchrun per node (NPROC_PER_NODE
workers each), forwards USR2 to the workers and requeues the job after they checkpointed.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.config import REPO_ROOT, load_cluster
from elab_hpc.errors import UserError
from elab_hpc.train.config import TrainConfig, as_dict

SBATCH_SCRIPT = REPO_ROOT / "sbatch" / "train_multinode.sbatch"


def _builder(kind: str):
    if kind == "sft":
        from elab_hpc.train import sft as mod
    elif kind == "dpo":
        from elab_hpc.train import dpo as mod
    else:
        from elab_hpc.train import grpo as mod
    return mod.build


def is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def skip_deepspeed_shm_build() -> None:
    """DeepSpeed's CPU backend JIT-compiles a shared-memory all-reduce op (used only by its
    inference all-reduce) on first use: minutes of g++ per fresh machine, serialised by a file
    lock in ~/.cache that a killed job leaves behind (then every later job waits forever).
    Training on CPU goes through torch.distributed (gloo) and does not need it."""
    try:
        import deepspeed.ops
    except ImportError:
        return
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def run_local(c: TrainConfig, show_progress: Optional[bool] = None) -> Dict[str, Any]:
    """Train here; returns {status, step, resumed_from, output_dir, final_dir}."""
    import torch

    from elab_hpc.train.checkpointing import (CheckpointPublisher, MetricsLog, PreemptionCallback,
                                              latest_good_checkpoint)

    if c.threads:
        torch.set_num_threads(c.threads)
    if c.deepspeed and c.device == "cpu":
        skip_deepspeed_shm_build()
    out = Path(c.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if is_rank_zero():
        (out / "train_config.json").write_text(json.dumps(as_dict(c), indent=1))
    # the handler goes in first, so a signal during model/data loading is not lost
    preempt = PreemptionCallback()
    callbacks: List[Any] = [CheckpointPublisher(c.checkpoint.keep, c.checkpoint.hash_files),
                            MetricsLog(out), preempt]
    show = sys.stderr.isatty() and is_rank_zero() if show_progress is None else show_progress
    try:
        trainer = _builder(c.kind)(c, callbacks)
        if show:
            from transformers.trainer_callback import ProgressCallback
            from trl.trainer.callbacks import RichProgressCallback

            trainer.remove_callback(ProgressCallback)
            trainer.add_callback(RichProgressCallback())
        resume = latest_good_checkpoint(out) if c.checkpoint.resume else None
        t0 = time.time()
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        seconds = time.time() - t0
        status = "preempted" if preempt.preempted_at is not None else "completed"
        final_dir = None
        if status == "completed":
            final_dir = out / "final"
            trainer.save_model(str(final_dir))
        result = {"status": status, "kind": c.kind, "step": trainer.state.global_step,
                  "resumed_from": str(resume) if resume else None, "output_dir": str(out),
                  "final_dir": str(final_dir) if final_dir else None, "train_seconds": seconds,
                  "attempt": int(os.environ.get("SLURM_RESTART_COUNT", "0"))}
        if is_rank_zero():
            from elab_hpc.hpc.core.atomic import atomic_write_json

            atomic_write_json(out / ("result.json" if status == "completed" else "preempted.json"), result)
        return result
    finally:
        preempt.restore()


# ------------------------------------------------------------------ cluster submission

def sbatch_argv(c: TrainConfig, cluster, job_name: str) -> List[str]:
    """sbatch options from the cluster profile (the same fields the HPC executors use)."""
    from elab_hpc.config import job_cpus_per_task, job_mem_gb

    argv = [f"--job-name={job_name}", f"--nodes={c.nodes}", "--ntasks-per-node=1",
            f"--cpus-per-task={max(job_cpus_per_task(cluster), c.nproc_per_node)}",
            f"--mem={int(round(job_mem_gb(cluster) * 1024))}M", f"--time={cluster.time_min}",
            f"--signal=B:{cluster.signal}@{cluster.signal_grace_s}",
            "--requeue" if cluster.requeue else "--no-requeue",
            f"--output={Path(c.output_dir).resolve()}/slurm-%j.out", "--open-mode=append"]
    if cluster.partition:
        argv.append(f"--partition={cluster.partition}")
    if cluster.gpus_per_node:
        argv.append(f"--gpus-per-node={cluster.gpus_per_node}")
    for key in ("account", "qos", "constraint"):
        if getattr(cluster, key):
            argv.append(f"--{key}={getattr(cluster, key)}")
    argv += [f"--{k}={v}" for k, v in dict(cluster.extra_sbatch).items()]
    return argv


def torchrun_executable() -> str:
    """torchrun of this interpreter's environment (the job runs the same install)."""
    here = Path(sys.executable).parent / "torchrun"
    return str(here) if here.is_file() else "torchrun"


def worker_command(kind: str, config_file: Path) -> str:
    """What torchrun starts on every worker: this CLI, training locally from the frozen config."""
    return f"{shlex.quote(sys.executable)} -m elab_hpc.commands.train {kind} {shlex.quote(str(config_file))}"


def submit(c: TrainConfig, dry_run: bool = False) -> Dict[str, Any]:
    """Queue the run on `c.cluster`; returns {job_id, sbatch, config}."""
    import yaml

    from elab_hpc.hpc.slurm.partitions import check_request

    cluster = load_cluster(c.cluster, list(c.cluster_overrides))
    if cluster.backend == "local":
        raise UserError(f"cluster={c.cluster} is a local profile; use cluster=local to train here")
    cluster = replace(cluster, nodes=c.nodes)
    check_request(cluster)  # unknown partition / impossible request → ConfigError, nothing queued
    out = Path(c.output_dir).resolve()
    frozen = replace(c, cluster="local", output_dir=str(out))
    argv = ["sbatch", "--parsable", *sbatch_argv(c, cluster, f"elab-{c.kind}-{c.name}"), str(SBATCH_SCRIPT)]
    env = {**os.environ, "ELAB_CMD": "", "NPROC_PER_NODE": str(c.nproc_per_node),
           "TORCHRUN": torchrun_executable()}
    cfg_file = out / "submitted_config.yaml"
    env["ELAB_CMD"] = worker_command(c.kind, cfg_file)
    if c.device == "cpu":
        env.setdefault("OMP_NUM_THREADS", str(max(c.threads, 1)))
    if dry_run:
        return {"job_id": None, "sbatch": argv, "env": {k: env[k] for k in ("ELAB_CMD", "NPROC_PER_NODE")}}
    out.mkdir(parents=True, exist_ok=True)
    cfg_file.write_text(yaml.safe_dump(as_dict(frozen), sort_keys=False))
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=out, timeout=60)
    if proc.returncode != 0:
        raise UserError(f"sbatch failed: {proc.stderr.strip()}")
    job_id = proc.stdout.strip().split(";")[0]
    with (out / "job_ids").open("a") as f:
        f.write(job_id + "\n")
    return {"job_id": job_id, "sbatch": argv, "config": str(cfg_file)}
