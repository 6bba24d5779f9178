"""Stage functions of the closed loop (configs/pipeline/quickstart.yaml, qwen3_8b.yaml).

Thin glue over the areas' public functions; the HPC layer runs each as a job:

  testset   the evaluation tasks (test split, optionally only some apps, first N) as JSONL
  synth     array: one synthesis chunk per item (elab_hpc.synth.run.run_shard), resumable per chunk
  filter    merge + filters (validation, test-split exclusion, dedup, MMR) → train.jsonl, then
            the rows rendered in the evaluator's ReAct scaffold → sft.jsonl
  sft       TRL SFT (elab_hpc.train) in a child process (or one torchrun per node for a
            multinode stage); the preemption signal becomes USR2 to the trainer, which
            checkpoints; LoRA adapters are merged into a plain HF model folder for evaluation
  eval_*    array: one evaluation shard per item (elab_hpc.eval.run.run_shard)
  report    elab_hpc.report: HTML + markdown + JSON of the whole run
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

from elab_hpc.errors import ConfigError
from elab_hpc.hpc.pipeline.context import Preempted, StageContext


def _param(ctx: StageContext, key: str, default: Any = None, required: bool = False) -> Any:
    if required and key not in ctx.params:
        raise ConfigError(f"stages.{ctx.stage}.params.{key}: required")
    return ctx.params.get(key, default)


def _input(ctx: StageContext, name: str) -> Path:
    if name not in ctx.inputs:
        raise ConfigError(f"stages.{ctx.stage}.inputs: needs the '{name}' stage")
    return ctx.inputs[name]


def _eval_config(spec: Dict[str, Any], where: str, extra: List[str] = ()):  # type: ignore[assignment]
    from elab_hpc.eval.config import load_eval_config

    if not isinstance(spec, dict) or "config" not in spec:
        raise ConfigError(f"{where}: expected a mapping with 'config' (and optional 'overrides')")
    return load_eval_config(spec["config"], list(spec.get("overrides") or []) + list(extra))


# ------------------------------------------------------------------------------ testset

def testset(ctx: StageContext) -> Dict[str, Any]:
    """params: split (test), apps (only tasks whose apps all lie here; [] = all), limit (0 = all)."""
    from arena.tasks.suite import load_suite

    from elab_hpc.loop.scaffold import select_tasks

    split = _param(ctx, "split", "test")
    tasks = select_tasks(load_suite(split=split), list(_param(ctx, "apps", []) or []), int(_param(ctx, "limit", 0)))
    if not tasks:
        raise ConfigError(f"stages.{ctx.stage}.params: no {split} task matches apps={_param(ctx, 'apps', [])}")
    ctx.write_text("tasks.jsonl", "".join(json.dumps(t, sort_keys=True) + "\n" for t in tasks))
    cats: Dict[str, int] = {}
    for t in tasks:
        cats[t["category"]] = cats.get(t["category"], 0) + 1
    summary = {"split": split, "tasks": len(tasks), "categories": cats}
    ctx.write_json("testset.json", summary)
    return summary


# ------------------------------------------------------------------------------ synthesis

def _synth_config(ctx: StageContext, extra: Sequence[str] = ()):
    from elab_hpc.synth.run import load_synth_config, num_chunks

    overrides = list(_param(ctx, "overrides", []) or []) + list(extra)
    cfg = load_synth_config(_param(ctx, "config", None), overrides)
    return cfg, num_chunks(cfg)


def synthesize(ctx: StageContext, extra: Sequence[str] = ()) -> Dict[str, Any]:
    """Array stage, one item per synthesis chunk: item i = shard i of `items` one-chunk shards.
    `extra`: synth overrides a calling stage adds to params.overrides (e.g. a changed surface)."""
    from elab_hpc.synth.run import chunk_path, run_shard

    cfg, chunks = _synth_config(ctx, extra)
    if cfg.shards != chunks:
        raise ConfigError(f"stages.{ctx.stage}: synth shards={cfg.shards} must equal its chunk count {chunks} "
                          f"(ceil(n*output.oversample/output.chunk_size)) so each item is one chunk; "
                          f"set overrides shards={chunks} and items: {chunks}")
    out = ctx.work_dir / "synth"
    made = 0
    for i in ctx.pending_items():  # raises Preempted on the stop signal, between chunks
        if i >= chunks:
            raise ConfigError(f"stages.{ctx.stage}.items: {i + 1} > the config's {chunks} chunks")
        info = run_shard(cfg, out, i, chunks, show=False)
        rows = sum(1 for _ in chunk_path(out, i).open())
        ctx.complete_item(i, {"dir": str(out), "chunk": i, "candidates": rows, **info})
        made += 1
    return {"chunks_done": made}


def filter_data(ctx: StageContext) -> Dict[str, Any]:
    """Merge the chunks with the synthesis filters, then render the evaluator's scaffold."""
    from elab_hpc.agent.backends.hf import resolve_model
    from elab_hpc.agent.env_adapter import ArenaEnv
    from elab_hpc.loop.scaffold import render_records
    from elab_hpc.synth.records import read_jsonl
    from elab_hpc.synth.run import merge

    items = [json.loads(x) for x in (_input(ctx, "synth") / "items.jsonl").read_text().splitlines() if x.strip()]
    synth_dir = Path(items[0]["record"]["dir"])
    stats = merge(synth_dir, show=False, exclude_tasks=_param(ctx, "exclude_tasks", None))
    for name in ("train.jsonl", "dpo.jsonl", "stats.json", "report.md"):
        shutil.copy2(synth_dir / name, ctx.out_dir / name)
    if (synth_dir / "plots").is_dir():
        shutil.copytree(synth_dir / "plots", ctx.out_dir / "plots", dirs_exist_ok=True)
    ecfg = _eval_config(_param(ctx, "eval", required=True), f"stages.{ctx.stage}.params.eval")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model(str(_param(ctx, "tokenizer", "tiny"))))
    env = ArenaEnv(seed=ecfg.seed, scale=ecfg.scale)
    got = render_records(read_jsonl(ctx.out_dir / "train.jsonl"), env, ecfg.agent, tok,
                         int(_param(ctx, "max_tokens", 0)))
    ctx.write_text("sft.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in got["rows"]))
    summary = {"counts": stats["counts"], "sft_rows": len(got["rows"]),
               "sft_dropped_too_long": got["dropped_too_long"], "sft_dropped_unreplayable": got["dropped_unreplayable"]}
    ctx.write_json("filter.json", summary)
    return summary


# ------------------------------------------------------------------------------ training

def _train_config(ctx: StageContext, data: Path, output_dir: Path, extra: Sequence[str] = ()):
    from elab_hpc.train.config import load_train

    overrides = list(_param(ctx, "overrides", []) or []) + list(extra) + [
        f"data.train={data}", f"output_dir={output_dir}", "cluster=local"]
    return load_train(str(_param(ctx, "config", "sft_tiny_lora")), overrides, kind="sft")


def _merge_lora(final_dir: Path, dest: Path, base: str) -> None:
    """LoRA adapter + base → one plain HF folder (what the evaluator's hf backend loads)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from elab_hpc.agent.backends.hf import resolve_model

    model = AutoModelForCausalLM.from_pretrained(resolve_model(base))
    model = PeftModel.from_pretrained(model, str(final_dir)).merge_and_unload()
    model.save_pretrained(dest)
    AutoTokenizer.from_pretrained(final_dir).save_pretrained(dest)


def sft(ctx: StageContext, extra: Sequence[str] = ()) -> Dict[str, Any]:
    """params: config (configs/train name or path), overrides, min_rows. Trains on filter/sft.jsonl.
    `extra`: train overrides a calling stage adds after params.overrides (e.g. lora.init_adapter)."""
    import yaml

    from elab_hpc.train.checkpointing import read_metrics
    from elab_hpc.train.config import as_dict

    if "base_model" in ctx.params and not ctx.params["base_model"]:
        raise ConfigError(f"stages.{ctx.stage}.params.base_model: empty; set it to a local HF model folder "
                          f"(e.g. a snapshot in ~/.cache/huggingface/hub)")
    data = _input(ctx, "filter") / "sft.jsonl"
    n_rows = sum(1 for line in data.open() if line.strip())
    if n_rows < int(_param(ctx, "min_rows", 1)):
        raise ConfigError(f"stages.{ctx.stage}: only {n_rows} SFT rows (params.min_rows {_param(ctx, 'min_rows')})")
    tdir = ctx.work_dir / "train"  # survives requeues: checkpoints and metrics live here
    cfg = _train_config(ctx, data, tdir, extra)
    tdir.mkdir(parents=True, exist_ok=True)
    cfg_file = tdir / "stage_config.yaml"
    from elab_hpc.hpc.core.atomic import atomic_write_text  # every node writes it: no torn reads

    atomic_write_text(cfg_file, yaml.safe_dump(as_dict(cfg), sort_keys=False))
    worker = [sys.executable, "-m", "elab_hpc.commands.train", "sft", str(cfg_file)]
    if os.environ.get("SLURM_JOB_ID") and os.environ.get("SLURM_JOB_NUM_NODES", "1") != "1":
        _run_torchrun(ctx, ["sft", str(cfg_file)], tdir, max(cfg.optim.max_steps, 0),
                      cfg.threads if cfg.device == "cpu" else 0)
        if ctx.rank != 0:
            return {"rank": ctx.rank}
    else:
        _run_trainer(ctx, worker, tdir, max(cfg.optim.max_steps, 0))
    result = json.loads((tdir / "result.json").read_text())
    if cfg.lora.enabled:
        _merge_lora(Path(result["final_dir"]), ctx.out_dir / "model", cfg.model.name_or_path)
    else:
        shutil.copytree(result["final_dir"], ctx.out_dir / "model")
    metrics = read_metrics(tdir)
    ctx.write_text("metrics.jsonl", "".join(json.dumps(m) + "\n" for m in metrics))
    losses = [m["loss"] for m in metrics if "loss" in m]
    summary = {"rows": n_rows, "steps": result["step"], "train_seconds": round(result["train_seconds"], 1),
               "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
               "resumed_from": result.get("resumed_from"), "lora": cfg.lora.enabled, "model": cfg.model.name_or_path}
    ctx.write_json("train.json", summary)
    return summary


def _last_step(tdir: Path) -> int:
    """The last step the trainer logged (its metrics.jsonl), 0 before the first."""
    try:
        lines = (tdir / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line).get("step", 0))
        except ValueError:  # a line being written
            continue
    return 0


def _clear_outcome(tdir: Path) -> None:
    for stale in ("result.json", "preempted.json"):  # what this attempt writes decides its outcome
        (tdir / stale).unlink(missing_ok=True)


def _report_step(ctx: StageContext, tdir: Path, max_steps: int, polls: int) -> None:
    if max_steps > 0 and polls % 10 == 0:  # every 2 s: the trainer's step for the progress bar
        step = _last_step(tdir)
        ctx.report_progress(step, max_steps, f"step {step}/{max_steps}")


def _outcome(ctx: StageContext, tdir: Path, returncode: int, stopped: bool, who: str, log_path: Path) -> None:
    """Return when the trainer finished; Preempted when it checkpointed on the signal (or was
    killed while still starting), so the requeue resumes; else the error with its log's tail."""
    if (tdir / "result.json").is_file() and returncode == 0:
        return  # finished (possibly just before the signal arrived)
    if stopped or (tdir / "preempted.json").is_file():
        raise Preempted(f"{ctx.stage}: trainer stopped on the preemption signal")
    raise RuntimeError(f"{who} exited with {returncode}:\n{log_path.read_text(errors='replace')[-2000:]}")


def _run_trainer(ctx: StageContext, argv: List[str], tdir: Path, max_steps: int = 0) -> None:
    """The trainer as a child (its USR2 handler needs a main thread); a stop request becomes USR2,
    the trainer checkpoints, and this stage raises Preempted so the job is requeued."""
    _clear_outcome(tdir)
    log_path = tdir / f"trainer-attempt{ctx.attempt}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        signalled, polls = False, 0
        while proc.poll() is None:
            if ctx.stop_requested() and not signalled:
                proc.send_signal(signal.SIGUSR2)
                signalled = True
            polls += 1
            _report_step(ctx, tdir, max_steps, polls)
            time.sleep(0.2)
    _outcome(ctx, tdir, proc.returncode, signalled, "trainer", log_path)


def _run_torchrun(ctx: StageContext, args: List[str], tdir: Path, max_steps: int = 0, threads: int = 0) -> None:
    """Multinode stage (one task per node): this node's torchrun of the trainer, its output in
    tdir/torchrun-restart<R>-node<N>.log. SLURM signals every process of the step, so torchrun
    ignores USR2 (it would die of it); a stop request becomes USR2 to this node's workers, sent
    again every 2 s until they exit (a worker still loading has no handler yet). The workers
    agree on the stop, checkpoint and exit; rank 0 then raises Preempted (StageJob requeues the
    whole job), the other ranks return. `threads`: OMP_NUM_THREADS of the workers (else accelerate
    sets cores / local workers, overriding the trainer's `threads`)."""
    import psutil

    from elab_hpc.hpc.slurm.torchrun import rendezvous_from_slurm, torchrun_command

    if ctx.rank == 0:
        _clear_outcome(tdir)
    rdzv = rendezvous_from_slurm(handshake_dir=ctx.work_dir)
    cmd = torchrun_command("elab_hpc.commands.train", args, rdzv, int(_param(ctx, "nproc_per_node", 1)),
                           module=True)
    env = {**os.environ, **rdzv.env()}
    if threads > 0:
        env["OMP_NUM_THREADS"] = str(threads)
    restart = os.environ.get("SLURM_RESTART_COUNT", "0")
    log_path = tdir / f"torchrun-restart{restart}-node{rdzv.node_rank}.log"
    with log_path.open("ab") as log:
        log.write(f"elab: node {os.environ.get('SLURMD_NODENAME', '?')} node_rank {rdzv.node_rank}/"
                  f"{rdzv.nnodes} job {os.environ.get('SLURM_JOB_ID')} restart {restart}: "
                  f"{' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(["bash", "-c", 'trap "" USR2; exec "$@"', "torchrun", *cmd],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        signalled, polls = 0.0, 0
        while proc.poll() is None:
            if ctx.stop_requested() and time.monotonic() - signalled > 2.0:
                try:
                    for child in psutil.Process(proc.pid).children():
                        child.send_signal(signal.SIGUSR2)
                except psutil.Error:  # exiting meanwhile
                    pass
                signalled = time.monotonic()
            polls += 1
            if ctx.rank == 0:
                _report_step(ctx, tdir, max_steps, polls)
            time.sleep(0.2)
        log.write(f"elab: torchrun exited with {proc.returncode}"
                  f"{' after the stop request' if ctx.stop_requested() else ''}\n".encode())

    def exited(node: int) -> Path:  # this node's torchrun of this job run has ended
        return ctx.work_dir / f".torchrun-exit-{os.environ.get('SLURM_JOB_ID')}-{restart}-node{node}"

    exited(rdzv.node_rank).write_text(str(proc.returncode))
    if ctx.rank != 0:
        if proc.returncode != 0 and not ctx.stop_requested():
            raise RuntimeError(f"torchrun on node rank {rdzv.node_rank} exited with {proc.returncode}:\n"
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        return
    # rank 0 ends (and on a stop requeues the job) once every node's torchrun has ended, so no
    # worker of this attempt is cut off by the requeue (bounded: a hung node is ended by it)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(exited(n).exists() for n in range(rdzv.nnodes)):
        time.sleep(0.2)
    _outcome(ctx, tdir, proc.returncode, ctx.stop_requested(), "torchrun on node rank 0", log_path)


# ------------------------------------------------------------------------------ evaluation

def evaluate(ctx: StageContext) -> Dict[str, Any]:
    """Array stage, one item per evaluation shard. params: eval {config, overrides}, model
    (tiny | hf:<path> | trained = the sft stage's merged model)."""
    return evaluate_tasks(ctx, f"jsonl:{_input(ctx, 'testset') / 'tasks.jsonl'}", stage_model(ctx),
                          _param(ctx, "eval", required=True))


def stage_model(ctx: StageContext) -> str:
    """params.model: tiny | hf:<path> | trained (= the sft stage's merged model)."""
    model = str(_param(ctx, "model", "tiny"))
    if model == "trained":
        model = f"{_param(ctx, 'backend', 'hf')}:{_input(ctx, 'sft') / 'model'}"
    return model


def evaluate_tasks(ctx: StageContext, tasks: str, model: str, eval_spec: Dict[str, Any],
                   extra: Sequence[str] = ()) -> Dict[str, Any]:
    """The shards of this array task: `model` on the task source `tasks` (the evaluator's
    `tasks=` value, e.g. jsonl:<file>) with the evaluator `eval_spec` ({config, overrides}) plus
    `extra` eval overrides (e.g. a changed surface)."""
    from elab_hpc.eval.run import run_shard

    n = int(_param(ctx, "num_shards", required=True))  # = the stage's items
    if any(i >= n for i in ctx.items):
        raise ConfigError(f"stages.{ctx.stage}: items must equal params.num_shards ({n})")
    extra = list(extra) + [f"model={model}", f"tasks={tasks}", f"out_dir={ctx.work_dir / 'eval'}",
                           f"shards={n}", "cluster=inline"]
    cfg = _eval_config(eval_spec, f"stages.{ctx.stage}.params.eval", extra)
    done = 0
    for i in ctx.pending_items():
        info = run_shard(cfg, i, n, show=False)
        results = [json.loads(x) for x in Path(info["file"]).read_text().splitlines() if x.strip()]
        ctx.complete_item(i, {"shard": i, "seconds": info["seconds"], "results": results})
        done += 1
    return {"shards_done": done}


# ------------------------------------------------------------------------------ report

def report(ctx: StageContext) -> Dict[str, Any]:
    from elab_hpc.report.build import build_report

    run_dir = ctx.work_dir.parents[2]  # RUN_DIR/stages/<name>/work
    return build_report(run_dir, ctx.inputs, ctx.out_dir, dict(ctx.params))
