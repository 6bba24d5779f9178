"""Stage functions of environment-change adaptation (configs/pipeline/adapt.yaml), run on a
finished closed-loop run (its testset, filter, sft and eval_trained stages):

  source       what the adaptation starts from: the run's test tasks, evaluator settings, trained
               model and LoRA adapter, its eval_trained results (the baseline), the change config
  drift        the changed surface applied to the arena and detected through the registry; the
               changed tools (new names) and the test split written in the new surface
  eval_before  array: the run's trained model on the CHANGED environment, same tasks and agent
  synth        array: incremental trajectories on the changed surface, focused on the changed tools
  filter       merge + filters (test split excluded in both surfaces) → rendered in the evaluator's
               scaffold on the changed surface, plus a replay share of the run's own trajectories
               that still work there → sft.jsonl
  sft          training continued from the run's LoRA adapter on those rows
  eval_after   array: the adapted model on the changed environment
  adapt_report drift table, before / after / recovered per category (elab_hpc.adapt.report)

The generic work is elab_hpc.loop.stages' (evaluate_tasks, synthesize, sft, render_records);
these functions only point it at the changed surface and the source run.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any, Dict, List

from elab_hpc.errors import ConfigError, UserError
from elab_hpc.hpc.pipeline.context import StageContext
from elab_hpc.loop import stages as loop

SOURCE_STAGES = ("testset", "filter", "sft", "eval_trained")


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _source(ctx: StageContext) -> Dict[str, Any]:
    return _load(loop._input(ctx, "source") / "source.json")


def _changes(ctx: StageContext) -> Path:
    return loop._input(ctx, "source") / "changes.yaml"


# ------------------------------------------------------------------------------ source

def adapter_dir(run_dir: Path) -> Path:
    """The LoRA adapter the run's sft stage trained (its `final` folder in the stage's work dir)."""
    for cand in (run_dir / "stages/sft/out/adapter", run_dir / "stages/sft/work/train/final"):
        if (cand / "adapter_config.json").is_file():
            return cand
    raise UserError(f"{run_dir}: the sft stage left no LoRA adapter (stages/sft/work/train/final); "
                    f"adaptation continues training from it, so the run must use lora.enabled")


def source(ctx: StageContext) -> Dict[str, Any]:
    """params: run_dir (the finished run), changes (a change config). `elab-hpc adapt` also puts
    the run's stage fingerprints here, so a re-trained source run re-runs the adaptation."""
    import yaml

    run_dir = Path(loop._param(ctx, "run_dir", required=True)).resolve()
    changes = Path(loop._param(ctx, "changes", required=True))
    snap = run_dir / "pipeline.yaml"
    if not snap.is_file():
        raise UserError(f"{run_dir}: not a pipeline run folder (no pipeline.yaml)")
    stages = (yaml.safe_load(snap.read_text()) or {}).get("stages") or {}
    for name in SOURCE_STAGES:
        m = run_dir / "stages" / name / "manifest.json"
        if name not in stages or not m.is_file() or _load(m).get("status") != "completed":
            raise UserError(f"{run_dir}: stage '{name}' has not completed; adaptation needs a finished run "
                            f"(elab-hpc pipeline status {run_dir})")
    from elab_hpc.adapt.drift import load_change

    load_change(changes)  # a bad change config fails here, before anything is written
    out = ctx.out_dir
    shutil.copy2(changes, out / "changes.yaml")
    shutil.copy2(run_dir / "stages/testset/out/tasks.jsonl", out / "tasks.jsonl")
    shutil.copy2(run_dir / "stages/eval_trained/out/items.jsonl", out / "baseline.jsonl")
    info = {
        "run_dir": str(run_dir), "changes": str(changes),
        "eval": stages["eval_trained"]["params"]["eval"],  # the evaluator the baseline was measured with
        "sft": {k: stages["sft"]["params"].get(k) for k in ("config", "overrides")},
        "model_dir": str(run_dir / "stages/sft/out/model"),
        "adapter_dir": str(adapter_dir(run_dir)),
        "train_records": str(run_dir / "stages/filter/out/train.jsonl"),
        "tokenizer": (stages["filter"].get("params") or {}).get("tokenizer", "tiny"),
        "synth_apps": _synth_apps(stages),
    }
    ctx.write_json("source.json", info)
    return {"run_dir": info["run_dir"], "tasks": sum(1 for _ in (out / "tasks.jsonl").open())}


def _synth_apps(stages: Dict[str, Any]) -> List[str]:
    """The apps the run synthesized from (`arena.apps=[...]` in the synth overrides; [] = all)."""
    import yaml

    for o in (stages.get("synth") or {}).get("params", {}).get("overrides") or []:
        if str(o).startswith("arena.apps="):
            return list(yaml.safe_load(str(o).split("=", 1)[1]) or [])
    return []


# ------------------------------------------------------------------------------ drift

def drift(ctx: StageContext) -> Dict[str, Any]:
    """params: exclude_tasks (the test split's signatures, translated into the new surface too)."""
    from arena.tasks.suite import read_jsonl

    from elab_hpc.adapt.drift import apply_and_detect, load_change
    from elab_hpc.adapt.surface import translate_actions

    src = _source(ctx)
    ecfg = loop._eval_config(src["eval"], "source.eval")
    got = apply_and_detect(load_change(_changes(ctx)), ecfg.seed, ecfg.scale)
    got.pop("view")
    ctx.write_json("drift.json", got)
    # a test task must stay out of training in whichever surface a trajectory is written
    ex = loop._param(ctx, "exclude_tasks", "arena/tasks/data/test_signatures.jsonl")
    ex_path = Path(ex) if Path(ex).is_file() else Path(__file__).resolve().parents[2] / ex
    if not ex_path.is_file():
        raise ConfigError(f"stages.{ctx.stage}.params.exclude_tasks: file not found: {ex}")
    lines = []
    for t in read_jsonl(ex_path):
        lines.append(t)
        if t.get("gold_actions"):
            lines.append({**t, "gold_actions": translate_actions(t["gold_actions"], got["applied"])})
    ctx.write_text("exclude_tasks.jsonl", "".join(json.dumps(t, sort_keys=True) + "\n" for t in lines))
    return {"tools_changed": got["tools_changed"], "tools_total": got["tools_total"],
            "recall": {k: s["recall"] for k, s in got["scores"].items()}}


def changed_tools(ctx: StageContext) -> List[str]:
    return sorted({a["new_tool"] for a in _load(loop._input(ctx, "drift") / "drift.json")["applied"]})


# ------------------------------------------------------------------------------ evaluations

def _eval_changed(ctx: StageContext, model: str) -> Dict[str, Any]:
    src = _source(ctx)
    return loop.evaluate_tasks(ctx, f"jsonl:{loop._input(ctx, 'source') / 'tasks.jsonl'}", model, src["eval"],
                               extra=[f"surface={_changes(ctx)}"])


def eval_before(ctx: StageContext) -> Dict[str, Any]:
    """The source run's trained model on the changed surface (params: num_shards = items)."""
    return _eval_changed(ctx, f"{loop._param(ctx, 'backend', 'hf')}:{_source(ctx)['model_dir']}")


def eval_after(ctx: StageContext) -> Dict[str, Any]:
    """The adapted model (this pipeline's sft stage) on the changed surface."""
    return _eval_changed(ctx, f"{loop._param(ctx, 'backend', 'hf')}:{loop._input(ctx, 'sft') / 'model'}")


# ------------------------------------------------------------------------------ incremental data

def synth(ctx: StageContext) -> Dict[str, Any]:
    """loop.synthesize on the changed surface, sampling focused on the changed tools; the test
    split is excluded in both surfaces (drift's exclude_tasks.jsonl)."""
    src = _source(ctx)
    focus = changed_tools(ctx)
    extra = [f"arena.surface={_changes(ctx)}", f"sampler.focus_tools=[{', '.join(focus)}]",
             f"exclude_tasks={loop._input(ctx, 'drift') / 'exclude_tasks.jsonl'}"]
    if src["synth_apps"] and not any(str(o).startswith("arena.apps=") for o in ctx.params.get("overrides") or []):
        extra.append(f"arena.apps=[{', '.join(src['synth_apps'])}]")  # the apps the run trained and evaluates on
    return loop.synthesize(ctx, extra)


def filter_data(ctx: StageContext) -> Dict[str, Any]:
    """Merge the incremental chunks, render them in the evaluator's scaffold on the changed
    surface, add a replay share of the source run's trajectories. params: max_tokens,
    replay_fraction (share of replayed rows in the final mix), seed."""
    from transformers import AutoTokenizer

    from elab_hpc.agent.backends.hf import resolve_model
    from elab_hpc.agent.env_adapter import ArenaEnv
    from elab_hpc.loop.scaffold import render_records
    from elab_hpc.synth.records import read_jsonl
    from elab_hpc.synth.run import merge

    src = _source(ctx)
    items = [json.loads(x) for x in (loop._input(ctx, "synth") / "items.jsonl").read_text().splitlines() if x.strip()]
    synth_dir = Path(items[0]["record"]["dir"])
    stats = merge(synth_dir, show=False, exclude_tasks=str(loop._input(ctx, "drift") / "exclude_tasks.jsonl"))
    for name in ("train.jsonl", "stats.json", "report.md"):
        shutil.copy2(synth_dir / name, ctx.out_dir / name)
    ecfg = loop._eval_config(src["eval"], "source.eval")
    tok = AutoTokenizer.from_pretrained(resolve_model(str(src["tokenizer"])))
    env = ArenaEnv(seed=ecfg.seed, scale=ecfg.scale, surface=str(_changes(ctx)))
    max_tokens = int(loop._param(ctx, "max_tokens", 0))
    new = render_records(read_jsonl(ctx.out_dir / "train.jsonl"), env, ecfg.agent, tok, max_tokens)
    # replay: the run's own trajectories, re-rendered on the new surface (a call the change broke
    # does not replay, so those drop out); they keep what the model knew from being overwritten
    old = render_records(read_jsonl(Path(src["train_records"])), env, ecfg.agent, tok, max_tokens)
    share = float(loop._param(ctx, "replay_fraction", 0.3))
    if not 0.0 <= share < 1.0:
        raise ConfigError(f"stages.{ctx.stage}.params.replay_fraction: must be in [0, 1), got {share}")
    rng = random.Random(int(loop._param(ctx, "seed", 0)))
    want = round(share / (1.0 - share) * len(new["rows"]))
    replay = rng.sample(old["rows"], min(want, len(old["rows"])))
    for r in replay:
        r["id"] = f"replay:{r['id']}"
    rows = new["rows"] + replay
    rng.shuffle(rows)
    ctx.write_text("sft.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    focus = set(changed_tools(ctx))
    recs = list(read_jsonl(ctx.out_dir / "train.jsonl"))  # read twice below
    summary = {"counts": stats["counts"], "incremental_rows": len(new["rows"]), "replay_rows": len(replay),
               "replay_available": len(old["rows"]), "replay_unreplayable": old["dropped_unreplayable"],
               "sft_rows": len(rows), "dropped_too_long": new["dropped_too_long"],
               "dropped_unreplayable": new["dropped_unreplayable"],
               "trajectories_using_changed_tools": sum(1 for r in recs if any(a["tool"] in focus for a in r["actions"])),
               "changed_tools_covered": sorted({a["tool"] for r in recs for a in r["actions"] if a["tool"] in focus})}
    ctx.write_json("filter.json", summary)
    return summary


def sft(ctx: StageContext) -> Dict[str, Any]:
    """loop.sft continued from the source run's LoRA adapter, with the source run's train config
    (params.config/overrides, when given, replace the source's config / add to its overrides)."""
    src = _source(ctx)
    params = dict(ctx.params)
    ctx.params = {**params, "config": params.get("config") or src["sft"]["config"],
                  "overrides": list(src["sft"].get("overrides") or []) + list(params.get("overrides") or [])}
    try:
        return loop.sft(ctx, [f"lora.init_adapter={src['adapter_dir']}"])
    finally:
        ctx.params = params


# ------------------------------------------------------------------------------ report

def report(ctx: StageContext) -> Dict[str, Any]:
    from elab_hpc.adapt.report import build_report

    return build_report(ctx.inputs, ctx.out_dir)
