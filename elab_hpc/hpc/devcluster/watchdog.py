"""Brings a dev cluster down when the process that owns it dies without doing so itself
(a test session killed by a CI timeout or `kill -9`), so no daemons are left behind.

    python -m elab_hpc.hpc.devcluster.watchdog --run-dir DIR --owner PID

It exits on its own once the cluster is down (the owner's normal teardown)."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from elab_hpc.hpc.devcluster import daemons as dmn
from elab_hpc.hpc.devcluster.cluster import DevCluster

POLL_S = 1.0


def start_watchdog(cluster: DevCluster, owner_pid: int | None = None) -> int:
    """Start a detached watchdog for `cluster` on behalf of `owner_pid` (default: this process);
    returns its pid. Its output goes to <run_dir>/log/watchdog.out."""
    owner_pid = os.getpid() if owner_pid is None else owner_pid
    with open(cluster.layout.stdio("watchdog"), "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "elab_hpc.hpc.devcluster.watchdog",
             "--run-dir", str(cluster.run_dir), "--owner", str(owner_pid),
             "--owner-ticks", str(dmn.start_ticks(owner_pid))],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
    return proc.pid


def watch(run_dir: str, owner: int, owner_ticks: int) -> str:
    cluster = DevCluster(run_dir)
    while True:
        time.sleep(POLL_S)
        if all(pid is None for pid in cluster.daemon_pids().values()):
            return "cluster is down"
        if dmn.start_ticks(owner) != owner_ticks:  # gone, or the pid now names another process
            stopped = cluster.down()
            return f"owner {owner} died; stopped {', '.join(stopped) or 'nothing'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--owner", type=int, required=True, help="pid whose death stops the cluster")
    parser.add_argument("--owner-ticks", type=int, required=True,
                        help="the owner's start time (/proc/<pid>/stat field 22)")
    args = parser.parse_args(argv)
    print(f"watchdog: {watch(args.run_dir, args.owner, args.owner_ticks)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
