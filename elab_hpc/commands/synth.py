"""`elab-hpc synth run|shard|merge|report`: executed training trajectories from tool schemas."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List

EPILOG = """\
A run samples executed trajectories from the arena's tool graph in N shards (an array job on the
cluster profile `cluster=`), validates every candidate (schema of each call, replay in a fresh
episode with its checks), then merges: test-split exclusion, exact + fuzzy de-duplication, MMR
selection of n. Outputs in OUT: train.jsonl / train.parquet (TRL SFT `messages` + `tools`, and a
ReAct rendering), dpo.jsonl (prompt/chosen/rejected), report.md + plots/, stats.json.

Examples:
  elab-hpc synth run configs/synth/default.yaml n=1500
  elab-hpc synth run configs/synth/default.yaml n=1500 shards=4 cluster=devcluster
  elab-hpc synth run configs/synth/default.yaml exclude_tasks=eval/test_tasks.jsonl
  elab-hpc synth shard --shard 3 --num-shards 8 --config configs/synth/default.yaml --out runs/synth/x
  elab-hpc synth merge runs/synth/default
  elab-hpc synth report runs/synth/default
"""


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="synth_command", metavar="ACTION")

    run = sub.add_parser("run", help="all shards as an array job, then merge",
                         description="Run `shards` shards through the HPC layer's executor (cluster=local "
                         "by default, cluster=devcluster or any configs/cluster profile for SLURM), each "
                         "generating its chunks of ceil(n * output.oversample) candidates, then merge. "
                         "Overrides are key=value (n=1500 shards=4 filter.fuzzy_threshold=0.85); unknown "
                         "keys are rejected before anything runs. Re-running the same command resumes.")
    run.add_argument("config", help="synth YAML (e.g. configs/synth/default.yaml)")
    run.add_argument("overrides", nargs="*", help="key=value overrides")
    run.add_argument("--out", help="run folder (default: the config's out_dir)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.set_defaults(func=_run)

    shard = sub.add_parser("shard", help="run or resume one shard (what sbatch/synth_array.sbatch calls)",
                           description="Generate, validate and render the chunks of shard SHARD of "
                           "NUM_SHARDS into OUT/shards/. Chunks already published are skipped, so a "
                           "requeued shard resumes without duplicates or gaps.")
    shard.add_argument("--shard", type=int, required=True, help="shard index, 0-based")
    shard.add_argument("--num-shards", type=int, required=True, help="total number of shards")
    shard.add_argument("--config", help="synth YAML (default: OUT/config.yaml if present, else "
                       "configs/synth/default.yaml)")
    shard.add_argument("--out", help="run folder (default: the config's out_dir)")
    shard.add_argument("overrides", nargs="*", help="key=value overrides")
    shard.add_argument("--quiet", action="store_true")
    shard.set_defaults(func=_shard)

    merge = sub.add_parser("merge", help="filter all shards' candidates into the final data set",
                           description="Read every chunk of RUN_DIR, drop invalid and test-split "
                           "candidates, de-duplicate (exact, then fuzzy), select n by MMR, write "
                           "train.jsonl/.parquet, dpo.jsonl, stats.json and the report.")
    merge.add_argument("run_dir")
    merge.add_argument("--exclude-tasks", metavar="FILE", help="test-split tasks to drop (JSONL of {intent} "
                       "and/or {gold_actions}, or one intent per line); default: the run config's exclude_tasks")
    merge.add_argument("--quiet", action="store_true")
    merge.set_defaults(func=_merge)

    report = sub.add_parser("report", help="(re)write report.md + plots of a merged run",
                            description="Quality report of RUN_DIR/train.jsonl: Self-BLEU, unique tools, "
                            "domains, categories, calls per dialog, multi-turn and dependency-chain "
                            "shares, validation rates. Prints the metrics as JSON.")
    report.add_argument("run_dir")
    report.set_defaults(func=_report)
    p.set_defaults(func=lambda args: p.print_help())


def _summary(stats: Dict[str, Any]) -> str:
    q = stats.get("quality", {})
    return json.dumps({"counts": stats.get("counts"), "timings": stats.get("timings"),
                       **{k: q.get(k) for k in ("self_bleu", "unique_tools", "domains_covered", "turns_mean",
                                                "turns_std", "multi_turn_share", "multi_tool_chain_share",
                                                "schema_valid_share", "grounded_share")}}, indent=1)


def _run(args: argparse.Namespace) -> int:
    from elab_hpc.synth.run import load_synth_config, run

    cfg = load_synth_config(args.config, args.overrides)
    stats = run(cfg, args.out, show=not args.quiet)
    print(_summary(stats))
    return 0


def _shard(args: argparse.Namespace) -> int:
    from elab_hpc.synth.run import CONFIG_NAME, load_synth_config, run_shard

    overrides: List[str] = list(args.overrides)
    config = args.config
    if config is None and args.out and (Path(args.out) / CONFIG_NAME).is_file():
        config = str(Path(args.out) / CONFIG_NAME)
    cfg = load_synth_config(config, overrides)
    out = args.out or cfg.out_dir
    summary = run_shard(cfg, out, args.shard, args.num_shards, show=not args.quiet)
    print(json.dumps(summary))
    return 0


def _merge(args: argparse.Namespace) -> int:
    from elab_hpc.synth.run import merge

    print(_summary(merge(args.run_dir, show=not args.quiet, exclude_tasks=args.exclude_tasks)))
    return 0


def _report(args: argparse.Namespace) -> int:
    from elab_hpc.errors import UserError
    from elab_hpc.synth.records import read_jsonl
    from elab_hpc.synth.report import write_report

    run_dir = Path(args.run_dir)
    stats_path = run_dir / "stats.json"
    if not (run_dir / "train.jsonl").is_file() or not stats_path.is_file():
        raise UserError(f"{run_dir}: no train.jsonl/stats.json; run `elab-hpc synth merge {run_dir}` first")
    stats = json.loads(stats_path.read_text())
    metrics = write_report(run_dir, list(read_jsonl(run_dir / "train.jsonl")), stats)
    print(json.dumps(metrics, indent=1))
    print(f"wrote {run_dir / 'report.md'}")
    return 0
