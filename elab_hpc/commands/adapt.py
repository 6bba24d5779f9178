"""`elab-hpc adapt RUN_DIR --changes CONFIG`: apply a versioned tool surface to the arena and
detect the drift through the registry (the first step of environment-change adaptation)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """\
Writes RUN_DIR/adapt/drift.json: the applied changes (configs/adapt/*.yaml: fraction of tools,
kinds rename / param_rename / param_add / output_shape, seed), what the registry's drift
detection found, and recall/precision per change type.

Not wired yet: evaluating the trained model on the changed environment, incremental synthesis on
the changed tools and continued training (see docs/pipeline.md, "Adaptation").

Example:
  elab-hpc adapt runs/quickstart --changes configs/adapt/default.yaml
"""


def register(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a pipeline run folder (results go to RUN_DIR/adapt/)")
    p.add_argument("--changes", required=True, help="change config, e.g. configs/adapt/default.yaml")
    p.add_argument("--seed", type=int, default=0, help="arena world seed (default 0)")
    p.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    p.add_argument("--json", action="store_true", help="print the drift summary as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from elab_hpc.adapt.drift import apply_and_detect, load_change
    from elab_hpc.errors import UserError
    from elab_hpc.hpc.core.atomic import atomic_write_json

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder not found: {run_dir}")
    change = load_change(args.changes)  # bad config → ConfigError before anything is written
    got = apply_and_detect(change, args.seed, args.scale)
    got.pop("view")
    got["changes_config"] = str(args.changes)
    atomic_write_json(run_dir / "adapt" / "drift.json", got)
    if args.json:
        print(json.dumps({"scores": got["scores"], "tools_changed": got["tools_changed"]}, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"drift: {got['tools_changed']} of {got['tools_total']} tools changed")
    for col in ("change", "applied", "detected", "found", "recall", "precision"):
        t.add_column(col)
    for k, s in got["scores"].items():
        t.add_row(k, str(s["expected"]), str(s["detected"]), str(s["found"]), f"{s['recall']:.2f}", f"{s['precision']:.2f}")
    Console().print(t)
    print(f"written: {run_dir / 'adapt' / 'drift.json'}")
    return 0
