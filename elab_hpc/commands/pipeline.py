"""`elab-hpc pipeline run|resume|status`: resumable stage pipelines."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List


EPILOG = """\
A pipeline is a DAG of stages (configs/pipeline/*.yaml). Each stage run writes a manifest
(RUN_DIR/stages/<name>/manifest.json: config hash, input hashes, status, attempts, timings,
outputs, job ids). A stage whose manifest matches its config and inputs is skipped; changing a
stage's config re-runs it and everything downstream.

Examples:
  elab-hpc pipeline run configs/pipeline/hpc_demo.yaml
  elab-hpc pipeline run configs/pipeline/hpc_demo.yaml cluster=devcluster stages.train.params.steps=400
  elab-hpc pipeline status runs/hpc_demo --json
  elab-hpc pipeline resume runs/hpc_demo
"""


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="pipeline_command", metavar="ACTION")

    run = sub.add_parser("run", help="run a pipeline config; up-to-date stages are skipped",
                         description="Run the stages of CONFIG that are not up to date, in dependency "
                         "order. Overrides are key=value (cluster=devcluster picks a cluster profile, "
                         "cluster.partition=h200 changes one field); unknown keys are rejected before "
                         "anything is submitted.")
    run.add_argument("config", help="pipeline YAML (e.g. configs/pipeline/hpc_demo.yaml)")
    run.add_argument("overrides", nargs="*", help="key=value overrides")
    run.add_argument("--run-dir", help="run folder (default: the config's run_dir)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.set_defaults(func=_run)

    resume = sub.add_parser("resume", help="continue a run after any failure or interruption",
                            description="Re-run a pipeline from the config snapshot in RUN_DIR: "
                            "completed stages are skipped, jobs still running are waited for, a failed "
                            "stage restarts from its checkpoints / completed array items.")
    resume.add_argument("run_dir")
    resume.add_argument("--quiet", action="store_true")
    resume.set_defaults(func=_resume)

    status = sub.add_parser("status", help="show the DAG of a run with the state of each stage",
                            description="Table of the stages of RUN_DIR: state, attempts, timings, "
                            "job ids; 'stale' means the manifest no longer matches the config/inputs.")
    status.add_argument("run_dir")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=_status)
    p.set_defaults(func=lambda args: p.print_help())


def _run(args: argparse.Namespace) -> int:
    from elab_hpc.config import load_pipeline
    from elab_hpc.hpc.pipeline.runner import Pipeline

    cfg = load_pipeline(args.config, args.overrides)
    pipe = Pipeline(cfg, args.run_dir, show=not args.quiet)
    return _execute(pipe)


def _resume(args: argparse.Namespace) -> int:
    from elab_hpc.hpc.pipeline.runner import Pipeline

    return _execute(Pipeline.from_run_dir(args.run_dir, show=not args.quiet))


def _execute(pipe) -> int:
    from elab_hpc.hpc.pipeline.runner import StageFailed

    try:
        outcome = pipe.run()
    except StageFailed as exc:  # printed even with --quiet
        print(f"elab-hpc: {exc}\nfix it, then: elab-hpc pipeline resume {pipe.run_dir}", file=sys.stderr)
        return 1
    ran = [n for n, o in outcome.items() if o == "ran"]
    pipe.console.print(f"done: {len(ran)} stage(s) ran, {len(outcome) - len(ran)} skipped — {pipe.run_dir}")
    if getattr(pipe, "show", True) and (Path(pipe.run_dir) / "stages" / "report" / "out" / "report.json").is_file():
        from elab_hpc.report.summary import print_summary  # closed-loop runs end with their summary table

        print_summary(pipe.run_dir)
    return 0


def status_rows(run_dir: Path | str) -> List[Dict[str, Any]]:
    from elab_hpc.hpc.pipeline.runner import Pipeline

    pipe = Pipeline.from_run_dir(run_dir, show=False)
    rows = []
    for name in pipe.order:
        m = pipe.manifest(name)
        state = m.status
        if state == "completed" and not pipe.is_current(name):
            state = "stale"
        rows.append({"stage": name, "kind": pipe.specs[name].get("kind", "single"),
                     "inputs": pipe.specs[name].get("inputs", []), "state": state,
                     "attempts": m.attempts, "runs": m.runs, "job_ids": m.job_ids,
                     "wall_s": m.timings.get("wall_s"), "error": m.error,
                     "manifest": str(pipe.stage_dir(name) / "manifest.json")})
    return rows


def _status(args: argparse.Namespace) -> int:
    rows = status_rows(args.run_dir)
    if args.json:
        print(json.dumps({"run_dir": str(Path(args.run_dir).resolve()), "stages": rows}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    colors = {"completed": "green", "running": "cyan", "failed": "red", "blocked": "yellow",
              "stale": "yellow", "pending": "dim"}
    table = Table(title=f"pipeline {args.run_dir}")
    for col in ("stage", "kind", "after", "state", "attempts", "runs", "wall", "jobs"):
        table.add_column(col)
    for r in rows:
        c = colors.get(r["state"], "white")
        wall = f"{r['wall_s']:.1f}s" if r["wall_s"] else "-"
        jobs = " ".join(r["job_ids"][:3]) + (" …" if len(r["job_ids"]) > 3 else "")
        table.add_row(r["stage"], r["kind"], ", ".join(r["inputs"]) or "-", f"[{c}]{r['state']}[/{c}]",
                      str(r["attempts"]), str(r["runs"]), wall, jobs or "-")
    Console().print(table)
    for r in rows:
        if r["error"]:
            Console().print(f"[red]{r['stage']}[/red]: {r['error'].strip().splitlines()[-1]}")
    return 0
