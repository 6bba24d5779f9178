"""Session-wide fixtures shared by every area's tests.

`devcluster` (session scope) — a REAL single-host SLURM cluster, started once per pytest session:
munged, mariadbd, slurmdbd (accounting: `sacct` and submitit see true job states), slurmctld and
two slurmd (`node1`, `node2`). Partitions `cpu` (default), `a100`, `h200` all span both nodes;
each core takes up to 4 jobs (OverSubscribe=FORCE:4), so arrays of small tasks run side by side.
There are NO GPUs: a100/h200 are partition names only (no Gres). Requeued jobs become eligible
again after ~10 s (cred_expire=10), not SLURM's default 120 s.

- It lives in a short temporary run dir (`/tmp/elab-dc-*`) on a block of free ports, so several
  pytest sessions can run side by side and a user's own `elab-hpc cluster up` is not disturbed.
- While it is up, `os.environ` holds `cluster.env()` (at least SLURM_CONF), so `sbatch`, `squeue`,
  `sacct`, `scontrol` and submitit — in the test process and in its subprocesses — use it.
- It yields the `elab_hpc.hpc.devcluster.DevCluster`: `.run_dir`, `.settings` (nodes,
  partitions, ports), `.env()`, `.status()` (dict), `.is_up()`. Do not call `.down()` on it.
- Job output: give jobs a path under the test's `tmp_path` (jobs run as root on this host).
- It is brought down (every daemon, by pid) at the end of the session; its run dir is removed
  unless ELAB_KEEP_DEVCLUSTER=1 (keep it to read the daemons' logs under <run_dir>/log). A
  watchdog process brings it down too if the session is killed before its teardown runs.

Mark tests that use it with `@pytest.mark.slurm`. They are skipped, with the reason, only when
this is not root or the SLURM/munge/MariaDB programs are missing; with ELAB_REQUIRE_SLURM=1
(the Makefile and CI set it) that skip becomes a failure.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest

REQUIRE_ENV = "ELAB_REQUIRE_SLURM"
KEEP_ENV = "ELAB_KEEP_DEVCLUSTER"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slurm: uses the real dev SLURM cluster (the session-scoped `devcluster` "
        "fixture); skipped only without root or SLURM programs, unless ELAB_REQUIRE_SLURM=1")


def slurm_unavailable_reason() -> str | None:
    """Why the dev cluster cannot run here, or None if it can."""
    from elab_hpc.hpc.devcluster import missing_binaries

    if os.geteuid() != 0:
        return "the dev SLURM cluster needs root (SlurmUser=root)"
    missing = missing_binaries()
    if missing:
        return (f"SLURM/munge/MariaDB programs missing: {missing} (Debian packages slurm-wlm "
                "slurmdbd munge mariadb-server)")
    return None


def skip_or_fail_without_slurm() -> None:
    """Skip when the cluster cannot run here; fail instead when ELAB_REQUIRE_SLURM=1."""
    reason = slurm_unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def devcluster():
    skip_or_fail_without_slurm()
    from elab_hpc.hpc.devcluster import DevCluster
    from elab_hpc.hpc.devcluster.watchdog import start_watchdog

    # short path: the munge and MariaDB unix sockets live in it (108-byte limit)
    run_dir = tempfile.mkdtemp(prefix="elab-dc-", dir="/tmp")
    cluster = DevCluster.with_free_ports(run_dir)
    saved = {key: os.environ.get(key) for key in cluster.env()}
    try:
        cluster.up()
        start_watchdog(cluster)  # stops the daemons should this session be killed
        os.environ.update(cluster.env())
        yield cluster
    finally:
        cluster.down()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if os.environ.get(KEEP_ENV) != "1":
            shutil.rmtree(run_dir, ignore_errors=True)
