"""Demo stages of `configs/pipeline/hpc_demo.yaml`: the shapes later areas plug into.

  shards  array stage: each item i yields a number (one marker per item, resumable)
  merge   reads the merged items, checks there are no gaps or duplicates, sums them
  train   training-like stage: a tiny MLP on synthetic data (seeded from merge's sum) that
          checkpoints every `ckpt_every` steps and on the preemption signal, and resumes from
          the latest good checkpoint (model, optimizer, RNG, step)
  allreduce  multinode stage: one torchrun per node (this file is the worker script), a gloo
          all-reduce across all ranks; global rank 0 writes allreduce.json
torch is imported inside the functions that need it, so the light stages start fast.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from elab_hpc.hpc.core.atomic import atomic_write_json, atomic_write_with
from elab_hpc.hpc.pipeline.context import Preempted, StageContext


def shards(ctx: StageContext) -> Dict[str, Any]:
    delay = float(ctx.params.get("item_delay_s", 0.0))
    done = 0
    for i in ctx.pending_items():
        time.sleep(delay)  # stands in for real per-item work (a trajectory, an eval task)
        ctx.complete_item(i, {"value": i * i + int(ctx.params.get("offset", 0))})
        done += 1
    return {"computed": done}


def merge(ctx: StageContext) -> Dict[str, Any]:
    src = ctx.inputs["shards"] / "items.jsonl"
    rows = [json.loads(line) for line in src.read_text().splitlines() if line.strip()]
    idx = [r["item"] for r in rows]
    if len(set(idx)) != len(idx) or sorted(idx) != list(range(len(idx))):
        raise ValueError(f"{src}: items have gaps or duplicates")
    total = sum(r["record"]["value"] for r in rows)
    summary = {"count": len(rows), "sum": total}
    ctx.write_json("numbers.json", summary)
    return summary


def idle(ctx: StageContext) -> Dict[str, Any]:
    """Sleeps `seconds`: a stage of known length, to measure the pipeline's own overhead."""
    time.sleep(float(ctx.params.get("seconds", 1.0)))
    return {"slept_s": float(ctx.params.get("seconds", 1.0))}


# ---------------------------------------------------------------- training-like stage

def _make(params: Dict[str, Any], seed: int):
    import torch

    torch.manual_seed(seed)
    d_in, hidden = int(params.get("d_in", 16)), int(params.get("hidden", 32))
    model = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    opt = torch.optim.Adam(model.parameters(), lr=float(params.get("lr", 1e-2)))
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(int(params.get("n_samples", 512)), d_in, generator=g)
    w = torch.randn(d_in, 1, generator=g)
    y = torch.sin(x @ w)
    return model, opt, x, y


def _state(model, opt, step: int) -> Dict[str, Any]:
    import torch

    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
            "torch_rng": torch.get_rng_state(), "py_rng": list(random.getstate()[1])}


def train_loop(params: Dict[str, Any], ckpt_dir: Path, seed: int,
               stop: Callable[[], bool] = lambda: False,
               on_step: Optional[Callable[[int], None]] = None) -> Dict[str, Any]:
    """Deterministic: an interrupted-and-resumed run ends bitwise equal to an uninterrupted one.
    Raises Preempted after checkpointing when `stop()` turns true."""
    import torch

    from elab_hpc.hpc.checkpoint import load_latest, save_checkpoint

    torch.set_num_threads(int(params.get("threads", 1)))  # thread count changes float sums
    steps, every = int(params.get("steps", 200)), int(params.get("ckpt_every", 20))
    keep, batch = int(params.get("keep", 3)), int(params.get("batch", 64))
    delay = float(params.get("step_delay_s", 0.0))
    model, opt, x, y = _make(params, seed)
    start = 0
    ck = load_latest(ckpt_dir)
    if ck is not None:
        model.load_state_dict(ck.state["model"])
        opt.load_state_dict(ck.state["optimizer"])
        torch.set_rng_state(ck.state["torch_rng"])
        start = ck.step
    else:
        torch.manual_seed(seed + 2)
    loss = torch.tensor(float("nan"))
    step = start
    for step in range(start, steps):
        if stop():
            save_checkpoint(ckpt_dir, step, _state(model, opt, step), keep)
            raise Preempted(f"stopped at step {step}")
        idx = torch.randint(0, x.shape[0], (batch,))
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if delay:
            time.sleep(delay)  # stands in for a heavier step
        if on_step:
            on_step(step + 1)
        if (step + 1) % every == 0 or step + 1 == steps:
            save_checkpoint(ckpt_dir, step + 1, _state(model, opt, step + 1), keep)
    with torch.no_grad():
        full = torch.nn.functional.mse_loss(model(x), y).item()
    return {"model": model.state_dict(), "resumed_from": start, "steps": steps, "final_loss": full}


def train(ctx: StageContext) -> Dict[str, Any]:
    import torch

    seed = int(ctx.params.get("seed", 0))
    if "merge" in ctx.inputs:  # the upstream numbers make the data depend on the DAG
        seed += int(json.loads((ctx.inputs["merge"] / "numbers.json").read_text())["sum"]) % 10_000
    progress = ctx.work_dir / "progress.json"
    first = ctx.work_dir / f"first_step-{ctx.attempt}.json"

    def on_step(step: int) -> None:
        if not first.exists():  # when this attempt did its first useful work (resume latency)
            atomic_write_json(first, {"step": step, "time": time.time()})
        if step % max(1, int(ctx.params.get("ckpt_every", 20))) == 0:
            atomic_write_json(progress, {"step": step, "time": time.time(), "attempt": ctx.attempt})

    try:
        out = train_loop(ctx.params, ctx.checkpoint_dir, seed, stop=ctx.stop_requested, on_step=on_step)
    except Preempted as exc:
        atomic_write_json(ctx.work_dir / f"preempted-{ctx.attempt}.json",
                          {"at_step": int(str(exc).rsplit(" ", 1)[1]), "time": time.time()})
        raise
    atomic_write_with(ctx.out_dir / "model.pt", lambda f: torch.save(out["model"], f))
    metrics = {k: out[k] for k in ("resumed_from", "steps", "final_loss")}
    metrics["attempt"] = ctx.attempt
    ctx.write_json("metrics.json", metrics)
    return metrics


# ---------------------------------------------------------------- multinode stage

def allreduce(ctx: StageContext) -> Dict[str, Any]:
    """Runs in every task (one per node) of a multinode job: start this node's torchrun."""
    from elab_hpc.hpc.slurm.torchrun import launch_torchrun

    node_rank = launch_torchrun(__file__, [str(ctx.out_dir)],
                                nproc_per_node=int(ctx.params.get("nproc_per_node", 1)),
                                handshake_dir=ctx.work_dir)
    if ctx.rank == 0:
        return json.loads((ctx.out_dir / "allreduce.json").read_text())
    return {"node_rank": node_rank}


def _allreduce_worker(out_dir: str) -> None:
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    value = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(value)
    nodes: list = [None] * dist.get_world_size()
    dist.all_gather_object(nodes, os.environ.get("SLURMD_NODENAME", "local"))
    if dist.get_rank() == 0:
        atomic_write_json(Path(out_dir) / "allreduce.json",
                          {"world_size": dist.get_world_size(), "sum": value.item(), "nodes": nodes})
    dist.destroy_process_group()


if __name__ == "__main__":  # torchrun worker of `allreduce`
    _allreduce_worker(sys.argv[1])
