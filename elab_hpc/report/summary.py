"""The terminal summary of a finished run: `python -m elab_hpc.report.summary RUN_DIR`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from elab_hpc.errors import UserError


def print_summary(run_dir: Path | str, stage: str = "report") -> None:
    from rich.console import Console
    from rich.table import Table

    from elab_hpc.report.render import _fmt, summary_rows

    path = Path(run_dir) / "stages" / stage / "out" / "report.json"
    if not path.is_file():
        raise UserError(f"{run_dir}: no report yet ({path}); run or resume the pipeline first")
    data = json.loads(path.read_text())
    console = Console()
    for name, (head, rows) in summary_rows(data):
        table = Table(title=name)
        for h in head:
            table.add_column(h)
        for r in rows:
            table.add_row(*[_fmt(c) for c in r])
        console.print(table)
    console.print(f"report: {path.with_suffix('.html')}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m elab_hpc.report.summary RUN_DIR")
    print_summary(sys.argv[1])
