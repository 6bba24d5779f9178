"""Stages of the closed loop on YOUR OWN MCP servers (examples/byo_mcp/pipeline.yaml).

The same DAG as the quickstart; what differs is where tasks come from and what episodes run on:

  testset   held-out tasks: a separate synthesis run (its own seed) over your servers, filtered as
            training data is; its tasks are the evaluation set (tasks.jsonl) and are excluded from
            training by intent and by gold-action signature
  synth     elab_hpc.loop.stages:synthesize with the synth override `env=<your env config>`
  filter    merge + filters (test tasks excluded), then rows rendered in the evaluator's ReAct
            scaffold by replaying each trajectory on your servers (observations as the agent sees them)
  sft       elab_hpc.loop.stages:sft (unchanged)
  eval_*    the tasks evaluated on your servers (`tasks=mcp:<tasks.jsonl>#<env config>`)
  report    elab_hpc.loop.stages:report (unchanged)

Every stage names the environment config in `params.env` (an external environment config,
elab_hpc/env/external.py).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict

from elab_hpc.errors import ConfigError
from elab_hpc.hpc.pipeline.context import StageContext
from elab_hpc.loop.stages import _eval_config, _input, _param, evaluate_tasks, stage_model


def _env(ctx: StageContext) -> str:
    from elab_hpc.env.external import resolve_path

    env = str(_param(ctx, "env", required=True))
    if not resolve_path(env).is_file():
        raise ConfigError(f"stages.{ctx.stage}.params.env: file not found: {env}")
    return env


def testset(ctx: StageContext) -> Dict[str, Any]:
    """params: env, config (synth config), overrides (e.g. n, seed: another seed than training's)."""
    from elab_hpc.synth.records import read_jsonl
    from elab_hpc.synth.run import load_synth_config, merge, run_shard

    overrides = list(_param(ctx, "overrides", []) or []) + [f"env={_env(ctx)}", "split=test", "shards=1"]
    cfg = load_synth_config(_param(ctx, "config", None), overrides)
    out = ctx.work_dir / "synth"
    run_shard(cfg, out, 0, 1, show=False)  # resumes per chunk after a preemption
    stats = merge(out, show=False)
    tasks = [dict(r["task"], source=f"byo:{cfg.name}") for r in read_jsonl(out / "train.jsonl")]
    if not tasks:
        raise ConfigError(f"stages.{ctx.stage}: synthesis produced no valid task on {_env(ctx)} "
                          f"(counts: {stats['counts']}); see {out}/report.md")
    ctx.write_text("tasks.jsonl", "".join(json.dumps(t, sort_keys=True) + "\n" for t in tasks))
    cats: Dict[str, int] = {}
    for t in tasks:
        cats[t["category"]] = cats.get(t["category"], 0) + 1
    summary = {"split": "held-out synthesized", "tasks": len(tasks), "categories": cats, "env": _env(ctx),
               "synth_counts": stats["counts"]}
    ctx.write_json("testset.json", summary)
    return summary


def filter_data(ctx: StageContext) -> Dict[str, Any]:
    """params: env, eval {config, overrides} (the evaluator's scaffold), tokenizer, max_tokens.
    Inputs: synth, testset (its tasks are excluded from training)."""
    from transformers import AutoTokenizer

    from elab_hpc.agent.backends.hf import resolve_model
    from elab_hpc.env.external import ExternalEnv
    from elab_hpc.loop.scaffold import render_records
    from elab_hpc.synth.records import read_jsonl
    from elab_hpc.synth.run import merge

    items = [json.loads(x) for x in (_input(ctx, "synth") / "items.jsonl").read_text().splitlines() if x.strip()]
    synth_dir = Path(items[0]["record"]["dir"])
    stats = merge(synth_dir, show=False, exclude_tasks=str(_input(ctx, "testset") / "tasks.jsonl"))
    for name in ("train.jsonl", "dpo.jsonl", "stats.json", "report.md"):
        shutil.copy2(synth_dir / name, ctx.out_dir / name)
    if (synth_dir / "plots").is_dir():
        shutil.copytree(synth_dir / "plots", ctx.out_dir / "plots", dirs_exist_ok=True)
    ecfg = _eval_config(_param(ctx, "eval", required=True), f"stages.{ctx.stage}.params.eval")
    tok = AutoTokenizer.from_pretrained(resolve_model(str(_param(ctx, "tokenizer", "tiny"))))
    got = render_records(read_jsonl(ctx.out_dir / "train.jsonl"), ExternalEnv.from_config(_env(ctx)), ecfg.agent,
                         tok, int(_param(ctx, "max_tokens", 0)))
    ctx.write_text("sft.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in got["rows"]))
    summary = {"counts": stats["counts"], "sft_rows": len(got["rows"]),
               "sft_dropped_too_long": got["dropped_too_long"], "sft_dropped_unreplayable": got["dropped_unreplayable"]}
    ctx.write_json("filter.json", summary)
    return summary


def evaluate(ctx: StageContext) -> Dict[str, Any]:
    """Array stage, one item per evaluation shard. params: env, eval {config, overrides},
    num_shards (= items), model (tiny | hf:<path> | trained = the sft stage's merged model)."""
    tasks = _input(ctx, "testset") / "tasks.jsonl"
    return evaluate_tasks(ctx, f"mcp:{tasks}#{_env(ctx)}", stage_model(ctx), _param(ctx, "eval", required=True))
