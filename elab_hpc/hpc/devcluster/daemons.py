"""Starting, watching and stopping the dev cluster's daemons by pid.

Every daemon runs in the foreground of its own session (so it outlives the `up` command and a
Ctrl-C in the caller's terminal does not reach it). We record `<pid> <start time>` ourselves;
the start time (field 22 of /proc/<pid>/stat) guards against killing an unrelated process that
reused a pid after a reboot or a crash."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from elab_hpc.hpc.devcluster.layout import RunLayout


class DaemonError(RuntimeError):
    """A daemon did not start or become ready; `log_tail` holds the end of its logs."""

    def __init__(self, name: str, message: str, log_tail: str = "", hint: str = ""):
        self.name, self.log_tail, self.hint = name, log_tail, hint
        super().__init__(f"{name}: {message}")


@dataclass
class Daemon:
    """One daemon: its argv, environment and a readiness probe."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    hint: str = ""


# ---- pid bookkeeping -------------------------------------------------------------------------
def start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot, None if no such (live) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces
    if fields[0] in ("Z", "X"):  # zombie: dead, only not yet reaped
        return None
    return int(fields[19])


def read_pid(lay: RunLayout, name: str) -> int | None:
    """The pid recorded for daemon `name` if that very process is still alive, else None."""
    try:
        pid_s, ticks_s = lay.pidfile(name).read_text().split()
        pid, ticks = int(pid_s), int(ticks_s)
    except (FileNotFoundError, ValueError):
        return None
    return pid if start_ticks(pid) == ticks else None


def recorded_daemons(lay: RunLayout) -> list[str]:
    """Names of all daemons that have a pid file of ours, in start order."""
    files = sorted(lay.pid_dir.glob("*.pid"), key=lambda p: p.stat().st_mtime)
    return [p.stem for p in files if not p.name.endswith(".self.pid")]


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our child (it is when `up` ran in this process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def is_alive(pid: int) -> bool:
    _reap(pid)
    return start_ticks(pid) is not None


# ---- start / stop -------------------------------------------------------------------------
def start(lay: RunLayout, daemon: Daemon, timeout: float) -> int:
    """Start `daemon`, wait until its probe says ready; on failure kill it and raise DaemonError."""
    out = open(lay.stdio(daemon.name), "ab")
    env = dict(os.environ)
    env.update(daemon.env)
    try:
        proc = subprocess.Popen(daemon.argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=lay.root,
                                start_new_session=True, close_fds=True)
    except FileNotFoundError:
        raise DaemonError(daemon.name, f"executable not found: {daemon.argv[0]}",
                          hint="install the Debian packages slurm-wlm slurmdbd munge "
                               "mariadb-server") from None
    finally:
        out.close()
    ticks = start_ticks(proc.pid)
    lay.pidfile(daemon.name).write_text(f"{proc.pid} {ticks}\n")
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise DaemonError(daemon.name, f"exited with status {proc.returncode} while starting",
                              log_tail(lay, daemon.name), daemon.hint)
        if daemon.ready():
            return proc.pid
        if time.monotonic() > deadline:
            stop(lay, daemon.name)
            raise DaemonError(daemon.name, f"not ready after {timeout:.0f} s",
                              log_tail(lay, daemon.name), daemon.hint)
        time.sleep(0.1)


def stop(lay: RunLayout, name: str, grace: float = 15.0) -> bool:
    """SIGTERM the recorded pid, wait up to `grace` s, then SIGKILL; True if something was stopped.
    The pid file is removed once the process is gone."""
    pid = read_pid(lay, name)
    stopped = False
    if pid is not None:
        stopped = True
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_alive(pid):
            _signal(pid, signal.SIGKILL)
            while is_alive(pid):
                time.sleep(0.05)
    if read_pid(lay, name) is None:  # keep a pid file that names a newer process
        lay.pidfile(name).unlink(missing_ok=True)
    return stopped


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# ---- probes and logs -------------------------------------------------------------------------
def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_free(port: int) -> bool:
    """True if nothing listens on `port` (checked by binding it on all interfaces)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("", port))
        except OSError:
            return False
    return not port_open(port)


def free_base_port(width: int, low: int = 20000, high: int = 40000, step: int = 10) -> int:
    """A base port with `width` free ports above it, scanned from a random point in [low, high)
    so that concurrent test sessions rarely probe the same block."""
    import random

    blocks = list(range(low, high - width, step))
    random.shuffle(blocks)
    for base in blocks:
        if all(port_free(base + i) for i in range(width)):
            return base
    raise RuntimeError(f"no block of {width} free ports in {low}-{high}")


def log_tail(lay: RunLayout, name: str, lines: int = 25) -> str:
    """The last lines of the daemon's own log and of its stdout/stderr."""
    parts = []
    for path in (lay.log(name), lay.stdio(name)):
        if path.exists() and path.stat().st_size:
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path} (last {len(text)} lines)\n" + "\n".join(text))
    return "\n".join(parts) or f"(no log written by {name} under {lay.log_dir})"
