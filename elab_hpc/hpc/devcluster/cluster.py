"""`DevCluster`: a real single-host SLURM cluster from Debian's packages, for demos and tests.

Daemons, in start order: munged (own key and socket), mariadbd (127.0.0.1, own datadir),
slurmdbd (accounting, so `sacct` and submitit see true job states), slurmctld, and one slurmd per
node (`slurmd -N node1`, `-N node2`, distinct ports) so multi-node jobs are real. Partitions
cpu (default), a100 and h200 all span the same nodes. There are NO GPUs: the a100/h200 partitions
exist so that configs written for the real cluster submit unchanged; they declare no Gres.

    cluster = DevCluster("/tmp/dc")       # settings: defaults.yaml + overrides
    cluster.up(timeout=60)                # idempotent; returns what it did
    os.environ.update(cluster.env())      # SLURM_CONF for sbatch/squeue/sacct/submitit
    cluster.status()                      # dict: daemons, nodes, partitions, accounting
    cluster.down()                        # stops every daemon it started, by pid
"""
from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import time
from contextlib import contextmanager

from elab_hpc.errors import ConfigError, UserError
from elab_hpc.hpc.devcluster import config as conf
from elab_hpc.hpc.devcluster import daemons as dmn
from elab_hpc.hpc.devcluster.layout import RunLayout, default_run_dir
from elab_hpc.hpc.devcluster.settings import (DevClusterSettings, load_settings,
                                              save_settings)

NO_GPU_NOTE = ("CPU-only dev cluster: no GPUs exist on this host; partitions a100/h200 are "
               "names only (no Gres), for configs written for the real cluster")
REQUIRED_BINARIES = ["munged", "mungekey", "mariadbd", "mariadb-install-db", "mariadb",
                     "slurmdbd", "slurmctld", "slurmd", "sacctmgr", "sinfo", "scontrol", "sacct",
                     "squeue", "scancel", "sbatch", "srun"]
DB_PASSWORD_FILE = "db.password"


class DevClusterError(UserError):
    """The cluster could not be started; the message carries the daemon's log tail and a hint."""


def which(binary: str) -> str | None:
    """Debian puts the daemons in /usr/sbin, which a non-login root shell may lack on PATH."""
    return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin")


def slurm_version() -> str:
    """Version of the installed SLURM daemons, e.g. "22.05.8" (Debian 12; configs target it)."""
    out = subprocess.run([which("slurmctld") or "slurmctld", "-V"], capture_output=True,
                         text=True, timeout=10).stdout
    return out.split()[-1] if out.split() else "unknown"


def missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if which(b) is None]


class DevCluster:
    """A dev SLURM cluster whose whole state lives in `run_dir`."""

    def __init__(self, run_dir: str | os.PathLike | None = None, overrides: dict | None = None):
        self.layout = RunLayout.at(run_dir if run_dir is not None else default_run_dir())
        self.run_dir = self.layout.root
        self._overrides = dict(overrides or {})
        self.settings: DevClusterSettings = load_settings(self._overrides, self.run_dir)

    # ---- client side ---------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Environment a SLURM client (sbatch, sacct, submitit) needs to talk to this cluster."""
        return {"SLURM_CONF": str(self.layout.slurm_conf)}

    def _run(self, *argv: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env.update(self.env())
        exe = which(argv[0]) or argv[0]
        proc = subprocess.run([exe, *argv[1:]], env=env, capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise DevClusterError(f"`{' '.join(argv)}` failed ({proc.returncode}): "
                                  f"{(proc.stderr or proc.stdout).strip()}")
        return proc

    # ---- daemons ---------------------------------------------------------------------------
    @classmethod
    def with_free_ports(cls, run_dir: str | os.PathLike, overrides: dict | None = None,
                        ) -> "DevCluster":
        """A cluster on a block of currently free ports (for tests that run side by side)."""
        overrides = dict(overrides or {})
        width = len(cls(run_dir, overrides).settings.ports())
        overrides["base_port"] = dmn.free_base_port(width)
        return cls(run_dir, overrides)

    def daemon_names(self) -> list[str]:
        return ["munged", "mariadbd", "slurmdbd", "slurmctld",
                *[f"slurmd-{n}" for n in self.settings.nodes]]

    def _daemons(self) -> list[dmn.Daemon]:
        s, lay = self.settings, self.layout
        slurm_env = self.env()
        found = {b: which(b) or b for b in REQUIRED_BINARIES}
        out = [
            dmn.Daemon("munged", [found["munged"], "--foreground", f"--socket={lay.munge_socket}",
                                  f"--key-file={lay.munge_key}",
                                  f"--pid-file={lay.own_pidfile('munged')}",
                                  f"--log-file={lay.log('munged')}",
                                  f"--seed-file={lay.munge_seed}"],
                       ready=lambda: lay.munge_socket.exists(),
                       hint="munged wants the key mode 600 and the socket directory mode 755"),
            dmn.Daemon("mariadbd", [found["mariadbd"], "--no-defaults", "--user=root",
                                    f"--datadir={lay.mariadb_data}",
                                    f"--socket={lay.mariadb_socket}",
                                    f"--port={s.mariadb_port}", "--bind-address=127.0.0.1",
                                    f"--pid-file={lay.own_pidfile('mariadbd')}",
                                    f"--log-error={lay.log('mariadbd')}",
                                    "--skip-name-resolve", "--skip-log-bin",
                                    # the values slurmdbd checks for (it logs an error
                                    # otherwise); the pool is virtual memory, mostly untouched
                                    "--innodb-buffer-pool-size=1024M",
                                    "--innodb-lock-wait-timeout=900",
                                    # a throw-away accounting DB: no fsync per commit
                                    "--innodb-flush-log-at-trx-commit=0",
                                    "--performance-schema=OFF"],
                       ready=lambda: dmn.port_open(s.mariadb_port),
                       hint=f"delete {lay.mariadb_data} to re-initialise the accounting database"),
            dmn.Daemon("slurmdbd", [found["slurmdbd"], "-D"], env=slurm_env,
                       ready=lambda: dmn.port_open(s.slurmdbd_port),
                       hint="slurmdbd reads slurmdbd.conf next to SLURM_CONF (mode 600)"),
            dmn.Daemon("slurmctld", [found["slurmctld"], "-D", "-f", str(lay.slurm_conf)],
                       env=slurm_env, ready=self._ctld_ready,
                       hint="check the ports with `ss -ltnp`; slurmctld needs SlurmctldHost to "
                            "be this host's name"),
        ]
        for node in s.nodes:
            out.append(dmn.Daemon(
                f"slurmd-{node}", [found["slurmd"], "-D", "-N", node, "-f", str(lay.slurm_conf)],
                env=slurm_env, ready=lambda node=node: self._node_registered(node),
                hint=f"slurmd -N {node} must reach slurmctld on 127.0.0.1:{s.slurmctld_port}"))
        return out

    def _probe(self, *argv: str) -> subprocess.CompletedProcess | None:
        """Run a client command for a readiness probe; None if it hangs (daemon still busy)."""
        try:
            return self._run(*argv, check=False, timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def _ctld_ready(self) -> bool:
        proc = self._probe("scontrol", "ping")
        return proc is not None and proc.returncode == 0 and "UP" in proc.stdout

    def _node_registered(self, node: str) -> bool:
        proc = self._probe("sinfo", "-h", "-N", "-n", node, "-o", "%T")
        if proc is None:
            return False
        states = proc.stdout.split()
        # "*" suffix = not responding; anything else means slurmd registered with slurmctld
        return proc.returncode == 0 and bool(states) and not any(
            st.endswith("*") or st.startswith(("unknown", "down", "not_responding"))
            for st in states)

    def daemon_pids(self) -> dict[str, int | None]:
        """Pid of each daemon if alive, else None."""
        return {name: dmn.read_pid(self.layout, name) for name in self.daemon_names()}

    def is_up(self) -> bool:
        """All daemons alive, slurmctld answers and every node is registered."""
        if not self.layout.slurm_conf.exists():
            return False
        if any(pid is None for pid in self.daemon_pids().values()):
            return False
        return self._ctld_ready() and all(self._node_registered(n) for n in self.settings.nodes)

    # ---- up ------------------------------------------------------------------------------
    def up(self, timeout: float | None = None, progress=None) -> str:
        """Start the cluster (idempotent). Returns "already up" or "started".

        `timeout` bounds each daemon's start (default: settings.start_timeout). `progress` is an
        optional callable(str) told about each step. On failure everything started is stopped
        and DevClusterError carries the failing daemon's log tail and a hint."""
        say = progress or (lambda msg: None)
        missing = missing_binaries()
        if missing:
            raise DevClusterError(f"missing programs {missing}: install the Debian packages "
                                  "slurm-wlm slurmdbd munge mariadb-server")
        if os.geteuid() != 0:
            raise DevClusterError("the dev cluster runs its daemons as root (SlurmUser=root); "
                                  "run `elab-hpc cluster up` as root")
        timeout = self.settings.start_timeout if timeout is None else timeout
        if not self.run_dir.exists() or not any(self.run_dir.iterdir()):
            self._check_ports()  # a clash in a fresh run dir must leave nothing behind
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            return self._up_locked(timeout, say)

    @contextmanager
    def _locked(self):
        with open(self.layout.lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _up_locked(self, timeout: float, say) -> str:
        if all(pid is not None for pid in self.daemon_pids().values()):
            # every daemon runs: never restart a working cluster, only wait for it to answer
            saved = load_settings(None, self.run_dir)
            if saved != self.settings:
                changed = sorted(k for k, v in self.settings.to_dict().items()
                                 if saved.to_dict()[k] != v)
                raise ConfigError(f"the cluster in {self.run_dir} runs with other settings "
                                  f"({changed}); run `elab-hpc cluster down` first")
            deadline = time.monotonic() + timeout
            while not self.is_up():
                if time.monotonic() > deadline:
                    raise DevClusterError(
                        f"all daemons in {self.run_dir} run but slurmctld or a node does not "
                        f"answer after {timeout:.0f} s; see {self.layout.log_dir}, then "
                        "`elab-hpc cluster down` and `up` again")
                time.sleep(0.5)
            return "already up"
        # a partial cluster (a daemon died) is restarted as a whole
        left = self._stop_all()
        if left:
            say(f"stopped what was left of a partial cluster: {', '.join(left)}")
        self._check_ports()
        lay, s = self.layout, self.settings
        lay.make_dirs()
        for node in s.nodes:
            lay.slurmd_spool(node).mkdir(parents=True, exist_ok=True)
        save_settings(s, self.run_dir)
        conf.write_configs(s, lay, self._db_password())
        self._ensure_munge_key()
        try:
            for daemon in self._daemons():
                if daemon.name == "mariadbd":
                    self._ensure_mariadb_datadir(say)
                if daemon.name == "slurmdbd":
                    self._ensure_db_user()
                if daemon.name == "slurmctld":
                    self._ensure_cluster_registered(say)
                say(f"starting {daemon.name}")
                dmn.start(lay, daemon, timeout)
        except dmn.DaemonError as exc:
            self._stop_all()
            raise DevClusterError(f"{exc}\n{exc.log_tail}\nhint: {exc.hint}\n"
                                  f"(everything started was stopped; logs in {lay.log_dir})") from None
        except BaseException:
            self._stop_all()
            raise
        return "started"

    def _check_ports(self) -> None:
        busy = {name: port for name, port in self.settings.ports().items()
                if not dmn.port_free(port)}
        if busy:
            raise ConfigError(f"dev cluster ports in use: {busy} (base_port="
                              f"{self.settings.base_port}); pass another base_port=N")

    def _db_password(self) -> str:
        path = self.run_dir / DB_PASSWORD_FILE
        if not path.exists():
            conf._write_private(path, secrets.token_hex(16))
        return path.read_text().strip()

    def _ensure_munge_key(self) -> None:
        key = self.layout.munge_key
        if not key.exists():
            subprocess.run([which("mungekey"), "--create", f"--keyfile={key}"], check=True,
                           capture_output=True)
        os.chmod(key, 0o600)

    def _ensure_mariadb_datadir(self, say) -> None:
        data = self.layout.mariadb_data
        if (data / "mysql").is_dir():
            return
        say("initialising the MariaDB datadir")
        shutil.rmtree(data, ignore_errors=True)  # a half-initialised datadir from a crash
        proc = subprocess.run([which("mariadb-install-db"), "--no-defaults", "--user=root",
                               f"--datadir={data}", "--skip-test-db",
                               "--auth-root-authentication-method=socket"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            raise dmn.DaemonError("mariadb-install-db", f"failed ({proc.returncode})",
                                  (proc.stdout + proc.stderr)[-3000:],
                                  "check free disk space in the run dir")

    def _mariadb_sql(self, sql: str) -> None:
        proc = subprocess.run([which("mariadb"), "--no-defaults", "-u", "root",
                               f"--socket={self.layout.mariadb_socket}", "-e", sql],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise dmn.DaemonError("mariadbd", f"SQL failed: {proc.stderr.strip()}",
                                  dmn.log_tail(self.layout, "mariadbd"))

    def _ensure_db_user(self) -> None:
        """slurmdbd logs in over TCP as its own user; root keeps socket-only authentication."""
        pw = self._db_password()
        user = f"'{conf.DB_USER}'@'127.0.0.1'"
        self._mariadb_sql(f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{pw}'; "
                          f"ALTER USER {user} IDENTIFIED BY '{pw}'; "
                          f"GRANT ALL ON {conf.ACCOUNTING_DB}.* TO {user}; "
                          f"CREATE DATABASE IF NOT EXISTS {conf.ACCOUNTING_DB};")

    def _ensure_cluster_registered(self, say) -> None:
        """Called right before slurmctld starts, so it finds its cluster in the database."""
        say(f"registering cluster {self.settings.cluster_name} in accounting")
        name = self.settings.cluster_name
        try:
            proc = self._run("sacctmgr", "-n", "-P", "show", "cluster", "format=cluster",
                             timeout=60)
            if name not in proc.stdout.split():
                self._run("sacctmgr", "-i", "add", "cluster", name, timeout=60)
        except (DevClusterError, subprocess.TimeoutExpired) as exc:
            raise dmn.DaemonError("slurmdbd", f"could not register cluster {name}: {exc}",
                                  dmn.log_tail(self.layout, "slurmdbd"),
                                  "slurmdbd must reach MariaDB and munged (see both logs)"
                                  ) from None

    # ---- down ----------------------------------------------------------------------------
    def _stop_all(self) -> list[str]:
        names = self.daemon_names()
        extra = [n for n in dmn.recorded_daemons(self.layout) if n not in names]
        stopped = []
        for name in reversed(names + extra):  # slurmd first, munged last
            if dmn.stop(self.layout, name):
                stopped.append(name)
        return stopped

    def down(self, job_grace: float = 30) -> list[str]:
        """Cancel the cluster's jobs (so no job processes outlive it), then stop every daemon this
        run dir started, by pid, waiting for each to exit. Returns the daemons that were running."""
        if not self.layout.pid_dir.exists():
            return []
        with self._locked():
            if dmn.read_pid(self.layout, "slurmctld") is not None:
                self._cancel_all_jobs(job_grace)
            return self._stop_all()

    def _cancel_all_jobs(self, grace: float) -> None:
        """scancel every job and wait (KillWait + a little) until none is left running."""
        try:
            jobs = self._run("squeue", "-h", "-o", "%i", check=False, timeout=15).stdout.split()
            if not jobs:
                return
            self._run("scancel", *jobs, check=False, timeout=30)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                left = self._run("squeue", "-h", "-t", "RUNNING,COMPLETING,SUSPENDED,STOPPED",
                                 "-o", "%i", check=False, timeout=15)
                if left.returncode != 0 or not left.stdout.split():
                    return
                time.sleep(0.25)
        except subprocess.TimeoutExpired:
            pass  # slurmctld is unresponsive: the daemons are stopped regardless

    # ---- status --------------------------------------------------------------------------
    def status(self) -> dict:
        """Daemons (pid, alive), nodes and partitions from sinfo, and whether accounting works."""
        pids = self.daemon_pids()
        out: dict = {
            "run_dir": str(self.run_dir),
            "cluster_name": self.settings.cluster_name,
            "slurm_conf": str(self.layout.slurm_conf),
            "ports": self.settings.ports(),
            "gpus": NO_GPU_NOTE,
            "slurm_version": slurm_version(),
            "daemons": [{"name": n, "pid": p, "alive": p is not None} for n, p in pids.items()],
            "nodes": [], "partitions": [],
            "accounting": {"ok": False, "detail": "slurmdbd not running"},
        }
        out["up"] = all(p is not None for p in pids.values())
        try:
            if pids.get("slurmdbd") is not None:  # sacctmgr talks to slurmdbd directly
                out["accounting"] = self._accounting()
            if pids.get("slurmctld") is None:
                out["up"] = False
                return out
            out["nodes"], out["partitions"] = self._sinfo()
        except (subprocess.TimeoutExpired, DevClusterError) as exc:
            out["up"] = False
            out["error"] = str(exc)
            return out
        out["up"] = out["up"] and bool(out["nodes"]) and all(
            not n["state"].endswith("*") and n["state"] not in ("down", "unknown")
            for n in out["nodes"])
        return out

    def _sinfo(self) -> tuple[list[dict], list[dict]]:
        proc = self._run("sinfo", "-h", "-N", "-o", "%N|%P|%T|%c|%m", timeout=15)
        nodes: dict[str, dict] = {}
        parts: dict[str, dict] = {}
        for line in proc.stdout.splitlines():
            node, part, state, cpus, mem = line.split("|")
            default = part.endswith("*")
            part = part.rstrip("*")
            nodes.setdefault(node, {"name": node, "state": state, "cpus": int(cpus),
                                    "memory_mb": int(mem), "partitions": []})
            nodes[node]["partitions"].append(part)
            p = parts.setdefault(part, {"name": part, "default": default, "nodes": []})
            p["nodes"].append(node)
        return list(nodes.values()), list(parts.values())

    def _accounting(self) -> dict:
        proc = self._run("sacctmgr", "-n", "-P", "show", "cluster", "format=cluster",
                         check=False, timeout=15)
        if proc.returncode != 0:
            return {"ok": False, "detail": (proc.stderr or proc.stdout).strip()}
        if self.settings.cluster_name not in proc.stdout.split():
            return {"ok": False, "detail": f"cluster {self.settings.cluster_name} not registered"}
        proc = self._run("sacct", "-n", "-X", "-P", "-o", "JobID", "-S", "now-1hours",
                         check=False, timeout=15)
        if proc.returncode != 0:
            return {"ok": False, "detail": (proc.stderr or proc.stdout).strip()}
        return {"ok": True, "detail": f"sacct works ({len(proc.stdout.split())} jobs in the "
                                      "last hour)"}
