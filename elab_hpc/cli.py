"""The one `elab-hpc` command line. Each area registers its subcommands from
`elab_hpc/commands/<area>.py`; this module only wires them together."""
from __future__ import annotations

import argparse
import importlib
import sys

from elab_hpc import __version__
from elab_hpc.errors import UserError

# (subcommand, module under elab_hpc.commands, one-line help)
AREAS = [
    ("arena", "arena", "EnterpriseArena: list tools, serve apps over MCP, play episodes"),
    ("cluster", "cluster", "start, stop and inspect the single-host dev SLURM cluster"),
    ("pipeline", "pipeline", "run, resume and inspect resumable stage pipelines"),
    ("synth", "synth", "synthesize executed, validated training trajectories (sharded), merge, report"),
    ("train", "train", "SFT / DPO / agentic GRPO with TRL and DeepSpeed, locally or on the cluster"),
    ("eval", "eval", "evaluate a model on verifiable arena tasks (sharded), aggregate, report"),
    ("adapt", "adapt", "environment-change adaptation: drift, incremental data, continued training"),
    ("containers", "containers", "render, validate and build Apptainer images; run arena servers in them"),
    ("demo", "demo", "play a scripted cross-app episode on the embedded defaults"),
    ("config", "config", "the configuration reference: every key, its type, default and meaning"),
]

EPILOG = """\
Configuration: every command that takes a config accepts dotlist overrides
(key=value, e.g. cluster.partition=h200). Unknown keys are rejected before anything runs.

Run `elab-hpc <command> --help` for the details of each command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="elab-hpc",
        description="Build enterprise AI agents on a SLURM cluster: a stateful MCP tool arena, "
        "trajectory synthesis, SFT/DPO/GRPO training, verifiable evaluation and reports.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"elab-hpc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in AREAS:
        try:
            mod = importlib.import_module(f"elab_hpc.commands.{module}")
        except ModuleNotFoundError as exc:  # an area not built yet must not break the others
            if exc.name and exc.name.startswith("elab_hpc.commands"):
                continue
            raise
        mod.register(sub, name, help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        rc = args.func(args)
    except UserError as exc:
        print(f"elab-hpc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
