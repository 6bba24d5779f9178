"""`elab-hpc eval run|shard|aggregate|report|tasks`: evaluate an agent on verifiable tasks."""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any, List, Optional

EPILOG = """\
Configuration: configs/eval/default.yaml (or --config FILE) plus key=value overrides; unknown keys
and bad values are rejected before anything runs. Main keys:
  model=oracle|tiny|hf:<path>|openai:<url>[#name]|vllm:<path>    who answers
  tasks=arena:test|arena:dev|arena:train|arena:all|jsonl:<file>|module:<pkg.mod>:<factory>
        |mcp:<file>#<env.yaml>   (tasks run on your own MCP servers, e.g. examples/byo_mcp/env.yaml)
  trials=N  shards=N  cluster=inline|local|devcluster|a100|h200  out_dir=...  limit=N
  categories=[crud,version_control]  agent.max_turns=4  agent.backend.max_new_tokens=96
  rewards.weights.r3=0.7  prices.prompt_per_m=0.15

Success is decided by executing each task's checks on the episode's final state and answer.
Episodes are stored one file each under OUT/episodes as they finish, so a rerun or a requeued
shard only runs what is missing. OUT gets results.json, report.md and report.html (plots inside).

Examples:
  elab-hpc eval tasks tasks=arena:test
  elab-hpc eval run model=oracle tasks=arena:all
  elab-hpc eval run model=tiny tasks=arena:test trials=4 shards=16 cluster=devcluster
  elab-hpc eval run model=openai:http://127.0.0.1:8000/v1#my-model agent.scaffold=fc
  elab-hpc eval run model=tiny "tasks=mcp:my_tasks.jsonl#examples/byo_mcp/env.yaml" agent.parallel_episodes=8
  sbatch --array=0-15 sbatch/eval_array.sbatch model=tiny out_dir=runs/eval/tiny   # then:
  elab-hpc eval aggregate model=tiny out_dir=runs/eval/tiny shards=16
"""


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="eval_command", metavar="ACTION")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("overrides", nargs="*", help="key=value overrides (model=tiny trials=4 ...)")
        sp.add_argument("--config", help="eval YAML (default configs/eval/default.yaml)")
        sp.add_argument("--quiet", action="store_true", help="no progress output")

    run = sub.add_parser("run", help="all shards (inline or as an array job), aggregate, report",
                         description="Run every shard — in this process (cluster=inline) or as ONE array "
                         "job through the HPC layer (cluster=local / devcluster / a100 ...) — then "
                         "aggregate the episodes and write results.json, report.md and report.html.")
    common(run)
    run.set_defaults(func=_run)

    shard = sub.add_parser("shard", help="run or resume one shard (what sbatch/eval_array.sbatch calls)",
                           description="Run the missing episodes of shard SHARD of NUM_SHARDS and write "
                           "OUT/shards/shard-<i>-of-<n>.jsonl. Episodes already stored are reused.")
    shard.add_argument("--shard", type=int, required=True, help="shard index, 0-based")
    shard.add_argument("--num-shards", type=int, required=True, help="total number of shards")
    common(shard)
    shard.set_defaults(func=_shard)

    agg = sub.add_parser("aggregate", help="results.json + reports from the stored episodes",
                         description="Read OUT/episodes for every selected task and trial (all must be "
                         "there), compute metrics and error analysis, write results.json and the reports.")
    common(agg)
    agg.set_defaults(func=_aggregate)

    rep = sub.add_parser("report", help="rewrite report.md / report.html from a results.json",
                         description="Render the reports of an existing run folder again.")
    rep.add_argument("run_dir", help="folder with results.json")
    rep.set_defaults(func=_report)

    tasks = sub.add_parser("tasks", help="list the selected tasks and the suite's category mix",
                           description="Show how many tasks the selection holds per category and split.")
    common(tasks)
    tasks.add_argument("--json", action="store_true", help="print the selected tasks as JSON lines")
    tasks.set_defaults(func=_tasks)


def _cfg(args: argparse.Namespace) -> Any:
    from elab_hpc.eval.config import load_eval_config

    return load_eval_config(args.config, list(args.overrides or []))


def _print_summary(agg: Any, paths: Optional[dict] = None) -> None:
    from rich.console import Console
    from rich.table import Table

    s = agg["summary"]
    o = s["overall"]
    con = Console()
    t = Table(title=f"{s['model']} on {s['tasks']}: success {o['success_rate']:.3f}, mean r {o['mean_r']:.3f}")
    for col in ("category", "tasks", "success", "r", "r1", "r2", "r3", "r4"):
        t.add_column(col)
    for c, v in s["per_category"].items():
        t.add_row(c, str(v["tasks"]), f"{v['success_rate']:.3f}", f"{v['mean_r']:.3f}",
                  *[f"{v[f'mean_r{k}']:.3f}" for k in range(1, 5)])
    con.print(t)
    if paths:
        con.print("wrote " + ", ".join(str(p) for p in paths.values()))


def _run(args: argparse.Namespace) -> int:
    from elab_hpc.eval.run import run_eval

    agg = run_eval(_cfg(args), show=not args.quiet)
    _print_summary(agg, agg["paths"])
    return 0


def _shard(args: argparse.Namespace) -> int:
    from elab_hpc.eval.run import run_shard

    out = run_shard(_cfg(args), args.shard, args.num_shards, show=not args.quiet)
    print(json.dumps(out))
    return 0


def _aggregate(args: argparse.Namespace) -> int:
    from elab_hpc.eval.report import write_reports
    from elab_hpc.eval.run import aggregate

    cfg = _cfg(args)
    agg = aggregate(cfg)
    paths = write_reports(Path(cfg.out_dir), agg["summary"], agg["episodes"])
    _print_summary(agg, paths)
    return 0


def _report(args: argparse.Namespace) -> int:
    from elab_hpc.errors import UserError
    from elab_hpc.eval.report import write_reports

    path = Path(args.run_dir) / "results.json"
    if not path.is_file():
        raise UserError(f"{path} not found (run `elab-hpc eval aggregate` first)")
    data = json.loads(path.read_text())
    paths = write_reports(Path(args.run_dir), data["summary"], data["episodes"])
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _tasks(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from elab_hpc.eval.tasks import load_tasks

    cfg = _cfg(args)
    tasks = load_tasks(cfg.tasks, cfg.categories, cfg.apps, cfg.limit)
    if args.json:
        for t in tasks:
            print(json.dumps(t))
        return 0
    n = max(len(tasks), 1)
    cats = Counter(t.get("category", "") for t in tasks)
    t = Table(title=f"{cfg.tasks}: {len(tasks)} tasks")
    for col in ("category", "tasks", "share", "hand-written", "mean calls"):
        t.add_column(col)
    for c, k in sorted(cats.items()):
        sel = [x for x in tasks if x.get("category") == c]
        t.add_row(c, str(k), f"{k / n:.1%}", str(sum(1 for x in sel if x.get("source") == "handwritten")),
                  f"{sum(len(x.get('gold_actions') or []) for x in sel) / len(sel):.2f}")
    Console().print(t)
    return 0
