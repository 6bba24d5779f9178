"""`elab-hpc adapt RUN_DIR --changes CONFIG`: change the arena's tool surface under a trained
run, measure what its model loses, synthesize data on the changed tools, continue training
from its adapter and measure the recovery."""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any, Dict

from elab_hpc.config import CONFIG_ROOT

DEFAULT_PIPELINE = CONFIG_ROOT / "pipeline" / "adapt.yaml"

EPILOG = """\
RUN_DIR is a finished closed-loop run (elab-hpc pipeline run configs/pipeline/quickstart.yaml):
its testset, filter, sft (LoRA) and eval_trained stages must have completed. Steps:

  1. drift: the change config (configs/adapt/*.yaml: fraction of tools, kinds rename /
     param_rename / param_add / output_shape, seed) applied to the arena; the registry's drift
     detection checked against it → RUN_DIR/adapt/drift.json
  2. the stage pipeline configs/pipeline/adapt.yaml in RUN_DIR/adapt (skips what is done;
     run the command again, or `elab-hpc pipeline resume RUN_DIR/adapt`, to resume):
       eval_before   the run's trained model on the CHANGED surface (same tasks, same agent)
       synth/filter  400 trajectories (n=400) on the changed surface, focused on the changed tools, test
                     split excluded in both surfaces, + a replay share of the run's own data
       sft           training continued from the run's LoRA adapter
       eval_after    the adapted model on the changed surface
  3. RUN_DIR/adapt/report.{md,json}: drift table; success and mean reward per category for the
     baseline (the run's eval_trained), before and after; the drop and the recovery.

Examples:
  elab-hpc adapt runs/quickstart --changes configs/adapt/default.yaml
  elab-hpc adapt runs/quickstart --changes configs/adapt/default.yaml --drift-only
  elab-hpc adapt runs/quickstart --changes configs/adapt/default.yaml \\
      -o 'stages.sft.params.overrides=[optim.max_steps=24]' -o cluster=devcluster
"""


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a finished pipeline run folder (results go to RUN_DIR/adapt/)")
    p.add_argument("--changes", required=True, help="change config, e.g. configs/adapt/default.yaml")
    p.add_argument("--pipeline", default=str(DEFAULT_PIPELINE),
                   help="the adaptation stage pipeline (default configs/pipeline/adapt.yaml)")
    p.add_argument("-o", "--override", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override of the adaptation pipeline config (repeatable), e.g. "
                        "-o 'stages.sft.params.overrides=[optim.max_steps=24]'")
    p.add_argument("--drift-only", action="store_true", help="stop after drift detection (step 1)")
    p.add_argument("--seed", type=int, default=0, help="arena world seed of the drift check (default 0)")
    p.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    p.add_argument("--json", action="store_true", help="print the summaries as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_run)


def _drift(args: argparse.Namespace, run_dir: Path) -> Dict[str, Any]:
    from elab_hpc.adapt.drift import apply_and_detect, load_change
    from elab_hpc.hpc.core.atomic import atomic_write_json

    change = load_change(args.changes)  # bad config → ConfigError before anything is written
    got = apply_and_detect(change, args.seed, args.scale)
    got.pop("view")
    got["changes_config"] = str(args.changes)
    atomic_write_json(run_dir / "adapt" / "drift.json", got)
    return got


def check_source_run(run_dir: Path) -> None:
    """The stages adaptation starts from must have completed (before anything is submitted)."""
    from elab_hpc.adapt.stages import SOURCE_STAGES
    from elab_hpc.errors import UserError
    from elab_hpc.hpc.pipeline.manifest import Manifest

    for name in SOURCE_STAGES:
        if Manifest.load(run_dir / "stages" / name, name).status != "completed":
            raise UserError(f"{run_dir}: stage '{name}' has not completed; adaptation needs a finished run "
                            f"(elab-hpc pipeline status {run_dir}), or use --drift-only")


def _source_overrides(run_dir: Path, changes: str) -> list:
    """What the source stage records: the run, the change config, and the fingerprints of the run's
    stages (a re-trained run changes them, so the adaptation re-runs)."""
    from elab_hpc.hpc.pipeline.manifest import Manifest

    fps = {name: Manifest.load(run_dir / "stages" / name, name).fingerprint
           for name in ("testset", "filter", "sft", "eval_trained")}
    return [f"stages.source.params.run_dir={run_dir.resolve()}",
            f"stages.source.params.changes={Path(changes).resolve()}",
            f"stages.source.params.fingerprints={json.dumps(fps)}"]


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from elab_hpc.errors import UserError

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder not found: {run_dir}")
    console = Console()
    got = _drift(args, run_dir)
    if args.json:
        print(json.dumps({"scores": got["scores"], "tools_changed": got["tools_changed"]}, indent=1))
    else:
        t = Table(title=f"drift: {got['tools_changed']} of {got['tools_total']} tools changed")
        for col in ("change", "applied", "detected", "found", "recall", "precision"):
            t.add_column(col)
        for k, s in got["scores"].items():
            t.add_row(k, str(s["expected"]), str(s["detected"]), str(s["found"]), f"{s['recall']:.2f}",
                      f"{s['precision']:.2f}")
        console.print(t)
        console.print(f"written: {run_dir / 'adapt' / 'drift.json'}")
    if args.drift_only:
        return 0
    return _adapt(args, run_dir, console)


def _adapt(args: argparse.Namespace, run_dir: Path, console: Any) -> int:
    import sys

    from elab_hpc.config import load_pipeline
    from elab_hpc.hpc.pipeline.runner import Pipeline, StageFailed

    adapt_dir = run_dir / "adapt"
    check_source_run(run_dir)
    overrides = [f"run_dir={adapt_dir.resolve()}"] + _source_overrides(run_dir, args.changes) + list(args.overrides)
    pipe = Pipeline(load_pipeline(args.pipeline, overrides), show=not args.quiet)
    try:
        pipe.run()
    except StageFailed as exc:
        print(f"elab-hpc: {exc}\nfix it, then run the same command again (finished stages are skipped)",
              file=sys.stderr)
        return 1
    out = pipe.stage_dir("adapt_report") / "out"
    for name in ("report.json", "report.md"):
        shutil.copy2(out / name, adapt_dir / name)
    rep = json.loads((adapt_dir / "report.json").read_text())
    if args.json:
        print(json.dumps({k: rep["table"][k] for k in rep["table"]}, indent=1))
    else:
        print_table(rep, console)
        console.print(f"report: {adapt_dir / 'report.md'}")
    return 0


def print_table(rep: Dict[str, Any], console: Any) -> None:
    from rich.table import Table

    def pct(c: Dict[str, Any]) -> str:
        return "-" if c["success_rate"] is None else f"{c['success']}/{c['n']} ({100 * c['success_rate']:.0f}%)"

    t = Table(title="adaptation: success (mean reward)")
    for col in ("tasks", "baseline (old surface)", "before (changed)", "after (adapted)", "drop", "recovered"):
        t.add_column(col)
    for key, row in rep["table"].items():
        cells = [f"{pct(row[n])} ({'-' if row[n]['mean_reward'] is None else format(row[n]['mean_reward'], '.2f')})"
                 for n in ("baseline", "before", "after")]
        t.add_row(key, *cells, *("-" if row[k] is None else f"{100 * row[k]:+.0f} pts" for k in ("drop", "recovered")))
    console.print(t)
