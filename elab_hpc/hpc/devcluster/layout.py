"""Where every file of a dev cluster lives. All state sits under one run directory, so `down`
plus `rm -r` leaves nothing behind and two clusters never share a file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from elab_hpc.errors import ConfigError

ENV_RUN_DIR = "ELAB_DEVCLUSTER_DIR"
# sun_path of a unix socket holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


def default_run_dir() -> Path:
    """`$ELAB_DEVCLUSTER_DIR`, else `~/.elab/devcluster`."""
    env = os.environ.get(ENV_RUN_DIR)
    return Path(env).expanduser() if env else Path.home() / ".elab" / "devcluster"


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @classmethod
    def at(cls, run_dir: str | os.PathLike) -> "RunLayout":
        layout = cls(Path(run_dir).expanduser().absolute())
        for sock in (layout.munge_socket, layout.mariadb_socket):
            if len(str(sock)) > MAX_SOCKET_PATH:
                raise ConfigError(
                    f"run dir {layout.root} is too deep: the socket path {sock} is longer than "
                    f"{MAX_SOCKET_PATH} bytes (unix socket limit); choose a shorter --run-dir")
        return layout

    @property
    def lock(self) -> Path:
        """flock'ed by up/down so two processes never start and stop the same cluster at once."""
        return self.root / "lock"

    # configuration (slurmdbd.conf must sit next to slurm.conf: slurmdbd has no -f)
    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def slurm_conf(self) -> Path:
        return self.etc / "slurm.conf"

    @property
    def slurmdbd_conf(self) -> Path:
        return self.etc / "slurmdbd.conf"

    @property
    def cgroup_conf(self) -> Path:
        return self.etc / "cgroup.conf"

    @property
    def plugstack_conf(self) -> Path:
        return self.etc / "plugstack.conf"

    # munge
    @property
    def munge_dir(self) -> Path:
        return self.root / "munge"

    @property
    def munge_key(self) -> Path:
        return self.munge_dir / "munge.key"

    @property
    def munge_socket(self) -> Path:
        return self.munge_dir / "munge.sock"

    @property
    def munge_seed(self) -> Path:
        return self.munge_dir / "munged.seed"

    # mariadb
    @property
    def mariadb_dir(self) -> Path:
        return self.root / "mariadb"

    @property
    def mariadb_data(self) -> Path:
        return self.mariadb_dir / "data"

    @property
    def mariadb_socket(self) -> Path:
        return self.mariadb_dir / "mysqld.sock"

    # slurm state
    @property
    def state_save(self) -> Path:
        return self.root / "spool" / "slurmctld"

    def slurmd_spool(self, node: str) -> Path:
        return self.root / "spool" / f"slurmd-{node}"

    # logs and pid files of every daemon, named after the daemon
    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def pid_dir(self) -> Path:
        return self.root / "pids"

    def log(self, daemon: str) -> Path:
        """The daemon's own log file (LogFile= / --log-file / --log-error)."""
        return self.log_dir / f"{daemon}.log"

    def stdio(self, daemon: str) -> Path:
        """What the daemon wrote to stdout/stderr (errors before its log opens land here)."""
        return self.log_dir / f"{daemon}.out"

    def pidfile(self, daemon: str) -> Path:
        """Written by us when we start the daemon: `<pid> <start time in clock ticks>`."""
        return self.pid_dir / f"{daemon}.pid"

    def own_pidfile(self, daemon: str) -> Path:
        """The pid file the daemon writes itself (kept apart from ours)."""
        return self.pid_dir / f"{daemon}.self.pid"

    def make_dirs(self) -> None:
        for d in (self.root, self.etc, self.munge_dir, self.mariadb_dir, self.state_save,
                  self.log_dir, self.pid_dir):
            d.mkdir(parents=True, exist_ok=True)
        # munged wants its socket directory (and the path to it) searchable by everyone but
        # writable by no one else; secrets (munge key, slurmdbd.conf) are mode 600 files
        for d in (self.root, self.munge_dir):
            os.chmod(d, 0o755)
