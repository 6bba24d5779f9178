"""The learning signal on the tiny model (issue 6 §4): base vs LoRA-SFT vs agentic GRPO from the
SFT model, on the held-out test tasks of a finished quickstart run, with paired bootstrap CIs.

    python benchmarks/learning_signal_tiny.py --run-dir runs/quickstart --work runs/learning_signal
    python benchmarks/learning_signal_tiny.py --run-dir runs/quickstart --work runs/ls --init base  # GRPO from base

Phases (each skipped when its output exists, so a rerun resumes):
  1. GRPO: `elab-hpc train grpo configs/train/grpo_tiny_from_sft.yaml` from the run's merged SFT
     model (or the bundled base model, --init base) on TRAIN-split tasks of the run's five apps,
     in the evaluator's ReAct loop (grpo.scaffold=react);
  2. the LoRA adapter merged into a plain HF folder;
  3. evaluation of that model on the run's test tasks with the run's eval_trained settings
     (config + overrides from RUN_DIR/pipeline.yaml; same shards, greedy);
  4. results: per model success, mean reward r, r1..r4 with 95% CIs; paired after − before
     comparisons (tasks resampled, both models together); GRPO rewards per step, rollout
     throughput (episodes/s, generated tokens/s); machine, load and commands.
The run's own eval_base / eval_trained episode results are read, never recomputed; the run
folder is only read.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/train/grpo_tiny_from_sft.yaml"


def load() -> List[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> Dict[str, Any]:
    import torch

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = next((int(ln.split()[1]) // 1024 for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "mem_mb": mem, "device": "cpu",
            "python": platform.python_version(), "torch": torch.__version__}


def eval_spec(run_dir: Path) -> Dict[str, Any]:
    import yaml

    snap = yaml.safe_load((run_dir / "pipeline.yaml").read_text())
    st = snap["stages"]["eval_trained"]
    return {"spec": st["params"]["eval"], "num_shards": int(st["params"]["num_shards"])}


def stage_results(run_dir: Path, stage: str) -> Optional[List[Dict[str, Any]]]:
    from elab_hpc.report.build import episode_results

    out = run_dir / "stages" / stage / "out"
    return episode_results(out) if (out / "items.jsonl").is_file() else None


def train(args, work: Path, init_model: str, log: Dict[str, Any]) -> Path:
    out = work / "grpo"
    # the episodes GRPO samples are the run's evaluation episodes: its agent settings, not the config's copy
    agent = [o for o in eval_spec(args.run_dir)["spec"].get("overrides") or [] if o.startswith("agent.")]
    cmd = [sys.executable, "-m", "elab_hpc.cli", "train", "grpo", CONFIG, f"model.name_or_path={init_model}",
           f"output_dir={out}", f"grpo.eval_overrides=[model=tiny,{','.join(agent)}]", *args.grpo_override]
    log["commands"]["grpo"] = " ".join(shlex.quote(c) for c in cmd)
    if (out / "final").is_dir() or args.skip_train:
        return out
    t0, l0 = time.time(), load()
    subprocess.run(cmd, cwd=ROOT, check=True)
    log["phases"]["grpo"] = {"wall_s": round(time.time() - t0, 1), "load_before": l0, "load_after": load()}
    return out


def merge(final: Path, base: str, dest: Path) -> Path:
    from elab_hpc.loop.stages import _merge_lora

    if not (dest / "config.json").is_file():
        _merge_lora(final, dest, base)
    return dest


def evaluate(run_dir: Path, model_dir: Path, work: Path, limit: int, log: Dict[str, Any]) -> List[Dict[str, Any]]:
    from elab_hpc.eval.config import load_eval_config
    from elab_hpc.eval.run import aggregate, run_shard

    spec = eval_spec(run_dir)
    extra = [f"model=hf:{model_dir}", f"tasks=jsonl:{run_dir / 'stages/testset/out/tasks.jsonl'}",
             f"out_dir={work / 'eval_grpo'}", f"shards={spec['num_shards']}", "cluster=inline", f"limit={limit}"]
    overrides = list(spec["spec"].get("overrides") or []) + extra
    log["commands"]["eval_grpo"] = "elab-hpc eval run " + " ".join(shlex.quote(o) for o in
                                                                   [f"--config={spec['spec']['config']}", *overrides])
    cfg = load_eval_config(spec["spec"]["config"], overrides)
    t0, l0 = time.time(), load()
    for s in range(cfg.shards):  # the stage's task partition, so batches (and greedy outputs) match
        run_shard(cfg, s, cfg.shards, show=False)
    log["phases"]["eval_grpo"] = {"wall_s": round(time.time() - t0, 1), "load_before": l0, "load_after": load()}
    return aggregate(cfg)["episodes"]


def training_summary(out: Path) -> Dict[str, Any]:
    from elab_hpc.train.checkpointing import read_metrics

    steps = [m for m in read_metrics(out) if "reward" in m]
    keep = ("step", "reward", "reward_std", "loss", "grad_norm", "learning_rate", "rewards/r1/mean", "rewards/r2/mean",
            "rewards/r3/mean", "rewards/r4/mean", "frac_reward_zero_std", "completions/mean_length")
    rows = [{k: m[k] for k in keep if k in m} for m in steps]
    path = out / "rollouts.jsonl"
    rolls = [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []
    thr = {}
    if rolls:
        eps = sum(r["episodes"] for r in rolls)
        thr = {"rollouts": len(rolls), "episodes": eps, "generated_tokens": sum(r["generated_tokens"] for r in rolls),
               "rollout_s": round(sum(r["rollout_s"] for r in rolls), 1),
               "generate_s": round(sum(r["generate_s"] for r in rolls), 1)}
        thr["episodes_per_s"] = round(eps / thr["rollout_s"], 4)
        thr["generated_tokens_per_s"] = round(thr["generated_tokens"] / thr["generate_s"], 2)
    half = max(len(rows) // 2, 1)
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return {"steps": rows, "rollouts": rolls, "throughput": thr,
            "reward_first_half": mean([r["reward"] for r in rows[:half]]),
            "reward_second_half": mean([r["reward"] for r in rows[half:]])}


def model_row(results: Optional[List[Dict[str, Any]]]) -> Optional[Dict[str, Any]]:
    from elab_hpc.eval.metrics import summarize

    if results is None:
        return None
    s = summarize(results, None, [1], 2000)
    return {k: s[k] for k in ("tasks", "episodes", "success_rate", "success_rate_ci95", "mean_r", "mean_r_ci95",
                              "mean_r1", "mean_r2", "mean_r3", "mean_r4", "mean_turns", "mean_calls")}


def markdown(d: Dict[str, Any]) -> str:
    f = lambda v: "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))  # noqa: E731
    ci = lambda v: "-" if not v else f"[{v[0]:.3f}, {v[1]:.3f}]"  # noqa: E731
    lines = ["# Learning signal on the tiny model (SmolLM2-135M, CPU)", "",
             f"Status: **{d['status']}**.", "",
             f"Run: `{d['run_dir']}`; held-out test tasks: {d['test_tasks']}; GRPO from: {d['grpo']['init']}.", "",
             "## Held-out test tasks", "",
             "| model | n | success | 95% CI | mean r | 95% CI | r1 | r2 | r3 | r4 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in d["models"].items():
        if m is None:
            lines.append(f"| {name} | not available | | | | | | | | |")
            continue
        lines.append(f"| {name} | {m['tasks']} | {f(m['success_rate'])} | {ci(m['success_rate_ci95'])} | {f(m['mean_r'])} "
                     f"| {ci(m['mean_r_ci95'])} | {f(m['mean_r1'])} | {f(m['mean_r2'])} | {f(m['mean_r3'])} | {f(m['mean_r4'])} |")
    lines += ["", "## Paired comparisons (after − before, bootstrap over tasks, 95% CI)", "",
              "| comparison | metric | n | delta | 95% CI | better/worse/same | significant |", "|---|---|---|---|---|---|---|"]
    for c in d["comparisons"]:
        for k in ("success_rate", "mean_r"):
            m = c[k]
            lines.append(f"| {c['after']} − {c['before']} | {k} | {m['n']} | {m['delta']:+.3f} | "
                         f"[{m['ci'][0]:+.3f}, {m['ci'][1]:+.3f}] | {m['better']}/{m['worse']}/{m['same']} | "
                         f"{'yes' if m['significant'] else 'no: the interval includes 0'} |")
    g = d["grpo"]["training"]
    lines += ["", "## GRPO training (reward of the sampled rollouts per step)", "",
              "| step | reward | r1 | r2 | r3 | r4 | loss |", "|---|---|---|---|---|---|---|"]
    for r in g["steps"]:
        lines.append(f"| {r.get('step')} | {f(r.get('reward'))} | {f(r.get('rewards/r1/mean'))} | {f(r.get('rewards/r2/mean'))} "
                     f"| {f(r.get('rewards/r3/mean'))} | {f(r.get('rewards/r4/mean'))} | {f(r.get('loss'))} |")
    t = g["throughput"]
    if t:
        lines += ["", f"Rollout throughput (CPU, loaded): {t['episodes_per_s']} episodes/s, "
                  f"{t['generated_tokens_per_s']} generated tokens/s ({t['episodes']} episodes, {t['generated_tokens']} "
                  f"tokens, {t['rollout_s']} s of rollouts)."]
    lines += ["", "## Machine and commands", "", f"```\n{json.dumps(d['machine'], indent=1)}\n```", ""]
    lines += [f"- {k}: `{v}`" for k, v in d["commands"].items()]
    lines += [f"- phase {k}: {v}" for k, v in d["phases"].items()]
    if d.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in d["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True, type=Path, help="a finished (or evaluated) quickstart run folder")
    ap.add_argument("--work", required=True, type=Path, help="where GRPO, the merged model and its evaluation go")
    ap.add_argument("--init", choices=["sft", "base"], default="sft",
                    help="GRPO start: the run's merged SFT model (default) or the bundled base model")
    ap.add_argument("--grpo-override", action="append", default=[], help="extra train override, e.g. optim.max_steps=2")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N test tasks (smoke runs)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/learning_signal_tiny",
                    help="results stem: writes STEM.json and STEM.md")
    ap.add_argument("--note", action="append", default=[], help="a line for the report's notes")
    ap.add_argument("--skip-train", action="store_true",
                    help="use WORK/grpo as it is (e.g. a run stopped early), without training")
    ap.add_argument("--skip-eval", action="store_true",
                    help="GRPO only (rewards per step, rollout throughput); no merge, no held-out evaluation")
    args = ap.parse_args(argv)

    from elab_hpc.eval.metrics import paired_comparison

    run_dir, work = args.run_dir.resolve(), args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log: Dict[str, Any] = {"commands": {"this": " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])},
                           "phases": {}}
    prev = work / "phases.json"
    if prev.is_file():
        log["phases"].update(json.loads(prev.read_text()))
    sft_model = run_dir / "stages/sft/out/model"
    init_model = str(sft_model) if args.init == "sft" else "tiny"
    if args.init == "sft" and not (sft_model / "config.json").is_file():
        raise SystemExit(f"{sft_model}: no merged SFT model yet (the run's sft stage has not finished); "
                         "wait for it, or use --init base")
    out = train(args, work, init_model, log)
    grpo = None
    if not args.skip_eval:
        model = merge(out / "final", init_model, work / "grpo_model")
        grpo = evaluate(run_dir, model, work, args.limit, log)
    prev.write_text(json.dumps(log["phases"]))
    base, sft = stage_results(run_dir, "eval_base"), stage_results(run_dir, "eval_trained")
    tasks_file = run_dir / "stages/testset/out/tasks.jsonl"
    keep = {r["task_id"] for r in grpo} if grpo else (
        {json.loads(x)["id"] for x in tasks_file.read_text().splitlines() if x.strip()} if tasks_file.is_file() else set())
    base = [r for r in base if r["task_id"] in keep] if base else None
    sft = [r for r in sft if r["task_id"] in keep] if sft else None
    results = {"base": base, "sft": sft, "grpo": grpo}
    comparisons = []
    start = "sft" if args.init == "sft" else "base"
    for before, after in (("base", "sft"), (start, "grpo"), ("base", "grpo")):
        if results[before] and results[after] and (before, after) not in [(c["before"], c["after"]) for c in comparisons]:
            comparisons.append({"before": before, "after": after,
                                **paired_comparison(results[before], results[after], samples=4000)})
    import yaml

    missing = [k for k, v in results.items() if not v]
    d = {"status": "complete" if not missing else f"partial: no held-out results for {', '.join(missing)}",
         "run_dir": str(run_dir), "test_tasks": len(keep), "machine": machine(), "load_at_write": load(),
         "eval": eval_spec(run_dir)["spec"],
         "models": {k: model_row(v) for k, v in results.items()}, "comparisons": comparisons,
         "grpo": {"init": init_model, "config": yaml.safe_load((ROOT / CONFIG).read_text()),
                  "overrides": args.grpo_override, "training": training_summary(out)},
         "commands": log["commands"], "phases": log["phases"], "notes": args.note}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(d, indent=1, default=str))
    args.out.with_suffix(".md").write_text(markdown(d))
    print(markdown(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
