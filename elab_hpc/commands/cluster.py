"""`elab-hpc cluster up|down|status|env`: the single-host dev SLURM cluster."""
from __future__ import annotations

import argparse
import json
import shlex
import time

from elab_hpc.hpc.devcluster import (ENV_RUN_DIR, NO_GPU_NOTE, DevCluster, default_run_dir,
                                     parse_overrides)

DESCRIPTION = f"""\
A real SLURM cluster on this one host, from Debian's slurm-wlm, slurmdbd, munge and
mariadb-server: munged, mariadbd, slurmdbd (accounting: sacct and submitit see true job
states), slurmctld and two slurmd (node1, node2), so multi-node jobs really span daemons.
Partitions cpu (default), a100 and h200 all cover both nodes; each core takes up to 4 jobs.
{NO_GPU_NOTE}.

All state (configs, logs, pids, spool, munge key, MariaDB datadir) lives in one run directory:
--run-dir, else ${ENV_RUN_DIR}, else ~/.elab/devcluster. Runs as root.

  elab-hpc cluster up                 # start (idempotent; ~3 s from nothing on an idle host)
  eval "$(elab-hpc cluster env)"      # point sbatch/squeue/sacct at it
  sbatch --array=0-7 --wrap 'hostname'
  elab-hpc cluster status [--json]
  elab-hpc cluster down               # stop every daemon it started, by pid

Settings (see elab_hpc/hpc/devcluster/defaults.yaml) are given to `up` as key=value,
e.g. `elab-hpc cluster up base_port=18817 cred_expire=5`; later commands reuse them."""


def register(subparsers, name: str, help_text: str) -> None:
    parser = subparsers.add_parser(name, help=help_text, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="cluster_action", metavar="ACTION")

    def add(action: str, help_: str, func) -> argparse.ArgumentParser:
        p = actions.add_parser(action, help=help_, description=help_)
        p.add_argument("--run-dir", default=None,
                       help=f"run directory (default: ${ENV_RUN_DIR} or ~/.elab/devcluster)")
        p.set_defaults(func=func)
        return p

    up = add("up", "start the dev cluster (does nothing if it is already up and healthy)", _up)
    up.add_argument("--timeout", type=float, default=None,
                    help="seconds to wait for each daemon (default: start_timeout setting)")
    up.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                    help="settings, e.g. base_port=18817 (see defaults.yaml)")
    add("down", "stop every daemon of the dev cluster, by pid, and wait for them to exit", _down)
    st = add("status", "show daemons, nodes, partitions and whether accounting works", _status)
    st.add_argument("--json", action="store_true", help="print the status as JSON")
    add("env", 'print `export SLURM_CONF=...` lines; use as eval "$(elab-hpc cluster env)"', _env)
    parser.set_defaults(func=lambda args: parser.print_help())


def _cluster(args, overrides: list[str] | None = None) -> DevCluster:
    run_dir = args.run_dir or default_run_dir()
    return DevCluster(run_dir, parse_overrides(overrides or []))


def _up(args) -> int:
    from rich.console import Console

    console = Console(stderr=True, log_path=False)
    cluster = _cluster(args, args.overrides)
    t0 = time.monotonic()
    with console.status("checking the dev cluster") as spinner:
        def progress(msg: str) -> None:
            console.log(msg)
            spinner.update(msg)

        result = cluster.up(timeout=args.timeout, progress=progress)
    if result == "already up":
        console.print(f"dev cluster in {cluster.run_dir} is already up and healthy")
    else:
        console.print(f"dev cluster up in {time.monotonic() - t0:.1f} s ({cluster.run_dir})")
    console.print(f'point SLURM commands at it with: eval "$(elab-hpc cluster env'
                  f'{" --run-dir " + shlex.quote(args.run_dir) if args.run_dir else ""})"')
    return 0


def _down(args) -> int:
    cluster = _cluster(args)
    stopped = cluster.down()
    print(f"stopped: {', '.join(stopped)}" if stopped else f"nothing running in {cluster.run_dir}")
    return 0


def _env(args) -> int:
    for key, value in _cluster(args).env().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _status(args) -> int:
    cluster = _cluster(args)
    st = cluster.status()
    if args.json:
        print(json.dumps(st, indent=2))
        return 0 if st["up"] else 1
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]dev cluster {st['cluster_name']}[/bold] (SLURM {st['slurm_version']}) "
                  f"in {st['run_dir']}: "
                  + ("[green]up[/green]" if st["up"] else "[red]not up[/red]"))
    daemons = Table("daemon", "pid", "alive", "port", title="daemons")
    for d in st["daemons"]:
        daemons.add_row(d["name"], str(d["pid"] or "-"), "yes" if d["alive"] else "[red]no[/red]",
                        str(st["ports"].get(d["name"], "-")))
    console.print(daemons)
    if st["nodes"]:
        nodes = Table("node", "state", "cpus", "memory MB", "partitions", title="nodes (sinfo)")
        for n in st["nodes"]:
            nodes.add_row(n["name"], n["state"], str(n["cpus"]), str(n["memory_mb"]),
                          ",".join(n["partitions"]))
        console.print(nodes)
        console.print("partitions: " + ", ".join(
            p["name"] + (" (default)" if p["default"] else "") for p in st["partitions"]))
    acc = st["accounting"]
    console.print(f"accounting: {'[green]works[/green]' if acc['ok'] else '[red]broken[/red]'}"
                  f" - {acc['detail']}")
    if "error" in st:
        console.print(f"[red]error:[/red] {st['error']}")
    console.print(f"GPUs: {st['gpus']}")
    return 0 if st["up"] else 1
