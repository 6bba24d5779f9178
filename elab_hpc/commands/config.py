"""`elab-hpc config reference`: the configuration reference, generated from the config dataclasses.

Every key of every config (pipelines, cluster profiles, synthesis, training, evaluation, agents,
containers, external environments, tool-surface changes, dev cluster settings) with its type,
default and meaning — the meaning is the comment next to the field in the source. The committed
copy is docs/configuration.md; regenerate it after changing a config dataclass:

  elab-hpc config reference --out docs/configuration.md
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="config_action", metavar="ACTION")
    ref = actions.add_parser("reference", help="render the configuration reference as markdown",
                             description="Render the configuration reference (markdown) from the config "
                             "dataclasses: stdout, or --out PATH.")
    ref.add_argument("--out", metavar="PATH", help="write to PATH instead of stdout "
                     "(the committed copy: docs/configuration.md)")
    ref.set_defaults(func=_reference)
    p.set_defaults(func=lambda args: p.print_help())


def _reference(args: argparse.Namespace) -> int:
    from elab_hpc.config_reference import render, write

    if args.out:
        path = write(args.out)
        print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(render())
    return 0
