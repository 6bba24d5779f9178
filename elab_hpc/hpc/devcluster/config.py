"""Renders slurm.conf, slurmdbd.conf, cgroup.conf and an empty plugstack.conf for the dev cluster
(SLURM 22.05 as packaged by Debian 12). Pure functions: settings + layout in, file text out."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from elab_hpc.hpc.devcluster.layout import RunLayout
from elab_hpc.hpc.devcluster.settings import DevClusterSettings

ACCOUNTING_DB = "slurm_acct_db"
DB_USER = "slurm"
HEADER = "# Written by `elab-hpc cluster up`; edits are overwritten on the next `up`.\n"


def short_hostname() -> str:
    """slurmctld only starts on the host named by SlurmctldHost, so name this host."""
    return socket.gethostname().split(".")[0]


def render_slurm_conf(s: DevClusterSettings, lay: RunLayout) -> str:
    host = short_hostname()
    auth = f"socket={lay.munge_socket},cred_expire={s.cred_expire}"
    lines = [
        HEADER,
        f"ClusterName={s.cluster_name}",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={s.slurmctld_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo={auth}",
        f"StateSaveLocation={lay.state_save}",
        f"SlurmdSpoolDir={lay.root / 'spool' / 'slurmd-%n'}",
        f"SlurmctldPidFile={lay.own_pidfile('slurmctld')}",
        f"SlurmdPidFile={lay.pid_dir / 'slurmd-%n.self.pid'}",
        f"SlurmctldLogFile={lay.log('slurmctld')}",
        f"SlurmdLogFile={lay.log_dir / 'slurmd-%n.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        f"PlugStackConfig={lay.plugstack_conf}",
        "MailProg=/bin/true",  # no mail on a dev box; the default /bin/mail is absent
        "",
        "# No cgroups: processes are tracked by parent pid, tasks are not bound.",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/linux",
        "MpiDefault=none",
        "SwitchType=switch/none",
        "",
        "# Scheduling tuned for tests: decide within a second, keep finished jobs visible.",
        "SchedulerType=sched/backfill",
        "SchedulerParameters=bf_interval=1,sched_interval=1,sched_min_interval=0,"
        "batch_sched_delay=0,default_queue_depth=1000",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "MessageTimeout=10",
        "KillWait=5",
        "MinJobAge=3600",
        "MaxJobCount=100000",
        "MaxArraySize=100001",
        "JobRequeue=1",
        "ReturnToService=2",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=60",
        "InactiveLimit=0",
        "Waittime=0",
        "",
        "# Accounting through slurmdbd + MariaDB, so sacct (and submitit) see true job states.",
        "AccountingStorageType=accounting_storage/slurmdbd",
        "AccountingStorageHost=127.0.0.1",
        f"AccountingStoragePort={s.slurmdbd_port}",
        "# clients authenticate to slurmdbd through this munge socket, not AuthInfo's",
        f"AccountingStoragePass={lay.munge_socket}",
        "JobCompType=jobcomp/none",
        "",
        "# All nodes are slurmd daemons on this host. No GPUs exist here: no Gres is declared;",
        "# the a100/h200 partitions are names only, so real-cluster configs submit unchanged.",
    ]
    cpus, mem = s.cpus(), s.real_memory_mb()
    for node in s.nodes:
        lines.append(f"NodeName={node} NodeHostname={host} NodeAddr=127.0.0.1 "
                     f"Port={s.slurmd_port(node)} CPUs={cpus} RealMemory={mem} State=UNKNOWN")
    nodes = ",".join(s.nodes)
    for part in s.partitions:
        default = "YES" if part == s.default_partition else "NO"
        lines.append(f"PartitionName={part} Nodes={nodes} Default={default} MaxTime=INFINITE "
                     f"OverSubscribe=FORCE:{s.oversubscribe} State=UP")
    return "\n".join(lines) + "\n"


def render_slurmdbd_conf(s: DevClusterSettings, lay: RunLayout, db_password: str) -> str:
    # No StorageParameters line at all: an empty one is a parse error in 22.05.
    return "\n".join([
        HEADER.rstrip("\n"),
        "AuthType=auth/munge",
        f"AuthInfo=socket={lay.munge_socket}",
        "DbdHost=localhost",
        "DbdAddr=127.0.0.1",
        f"DbdPort={s.slurmdbd_port}",
        "SlurmUser=root",
        "DebugLevel=info",
        f"LogFile={lay.log('slurmdbd')}",
        f"PidFile={lay.own_pidfile('slurmdbd')}",
        "StorageType=accounting_storage/mysql",
        "StorageHost=127.0.0.1",
        f"StoragePort={s.mariadb_port}",
        f"StorageUser={DB_USER}",
        f"StoragePass={db_password}",
        f"StorageLoc={ACCOUNTING_DB}",
    ]) + "\n"


def render_cgroup_conf() -> str:
    # Read by slurmd even without cgroup plugins; nothing is constrained on the dev cluster.
    return HEADER + "ConstrainCores=no\nConstrainRAMSpace=no\nConstrainDevices=no\n"


def write_configs(s: DevClusterSettings, lay: RunLayout, db_password: str) -> None:
    """Write all config files; slurmdbd.conf gets mode 600 (slurmdbd refuses anything looser)."""
    lay.slurm_conf.write_text(render_slurm_conf(s, lay))
    lay.cgroup_conf.write_text(render_cgroup_conf())
    lay.plugstack_conf.write_text(HEADER)
    _write_private(lay.slurmdbd_conf, render_slurmdbd_conf(s, lay, db_password))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file
