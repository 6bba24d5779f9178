"""Settings of the dev cluster: defaults from `defaults.yaml`, `key=value` overrides, validation,
and the copy saved in the run directory (so later commands reuse the ports `up` chose)."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from elab_hpc.errors import ConfigError

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
SAVED_NAME = "devcluster.json"
# SLURM rejects cred_expire below 5 s and falls back to 120 s; refuse it up front instead.
MIN_CRED_EXPIRE = 5


@dataclass(frozen=True)
class DevClusterSettings:
    """What the dev cluster looks like; see defaults.yaml for the meaning of each key."""

    cluster_name: str = "elabdev"
    base_port: int = 16817
    nodes: list[str] = field(default_factory=lambda: ["node1", "node2"])
    partitions: list[str] = field(default_factory=lambda: ["cpu", "a100", "h200"])
    default_partition: str = "cpu"
    cpus_per_node: int | str = "auto"
    memory_fraction: float = 0.8
    oversubscribe: int = 4
    cred_expire: int = 10
    start_timeout: float = 60

    # ---- derived values -------------------------------------------------------------------
    @property
    def slurmctld_port(self) -> int:
        return self.base_port

    def slurmd_port(self, node: str) -> int:
        return self.base_port + 1 + self.nodes.index(node)

    @property
    def slurmdbd_port(self) -> int:
        return self.base_port + 1 + len(self.nodes)

    @property
    def mariadb_port(self) -> int:
        return self.base_port + 2 + len(self.nodes)

    def ports(self) -> dict[str, int]:
        """Every TCP port the cluster listens on, by daemon name."""
        out = {"slurmctld": self.slurmctld_port}
        out.update({f"slurmd-{n}": self.slurmd_port(n) for n in self.nodes})
        out["slurmdbd"] = self.slurmdbd_port
        out["mariadbd"] = self.mariadb_port
        return out

    def cpus(self) -> int:
        if self.cpus_per_node == "auto":  # what nproc says (honours CPU affinity)
            return len(os.sched_getaffinity(0))
        return int(self.cpus_per_node)

    def real_memory_mb(self) -> int:
        """RealMemory per node: all nodes together fit in `memory_fraction` of this host's RAM."""
        total_kb = _mem_total_kb()
        return max(256, int(total_kb / 1024 * self.memory_fraction / len(self.nodes)))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _mem_total_kb() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    raise RuntimeError("MemTotal missing from /proc/meminfo")


def _validate(values: dict) -> DevClusterSettings:
    known = {f.name for f in dataclasses.fields(DevClusterSettings)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown dev cluster setting(s) {unknown}; known keys: {sorted(known)}")

    def need(cond: bool, key: str, why: str) -> None:
        if not cond:
            raise ConfigError(f"dev cluster setting {key}={values.get(key)!r}: {why}")

    v = values
    need(isinstance(v["cluster_name"], str) and v["cluster_name"].isalnum()
         and v["cluster_name"].islower() and len(v["cluster_name"]) <= 40,
         "cluster_name", "must be lower-case letters/digits (SLURM lower-cases it in the database)")
    need(isinstance(v["base_port"], int) and 1024 < v["base_port"] < 65500,
         "base_port", "must be an integer port between 1025 and 65499")
    for key in ("nodes", "partitions"):
        need(isinstance(v[key], list) and v[key] and all(isinstance(x, str) and x.isidentifier()
                                                          for x in v[key])
             and len(set(v[key])) == len(v[key]), key, "must be a non-empty list of distinct names")
    need(v["default_partition"] in v["partitions"], "default_partition",
         f"must be one of partitions {v['partitions']}")
    need(v["cpus_per_node"] == "auto" or (isinstance(v["cpus_per_node"], int)
                                          and v["cpus_per_node"] >= 1),
         "cpus_per_node", 'must be "auto" or a positive integer')
    need(isinstance(v["memory_fraction"], (int, float)) and 0 < v["memory_fraction"] <= 1,
         "memory_fraction", "must be a number in (0, 1]")
    need(isinstance(v["oversubscribe"], int) and 1 <= v["oversubscribe"] <= 64,
         "oversubscribe", "must be an integer 1..64 (jobs per core)")
    need(isinstance(v["cred_expire"], int) and v["cred_expire"] >= MIN_CRED_EXPIRE,
         "cred_expire", f"must be an integer >= {MIN_CRED_EXPIRE} seconds (SLURM's minimum)")
    need(isinstance(v["start_timeout"], (int, float)) and v["start_timeout"] > 0,
         "start_timeout", "must be a positive number of seconds")
    return DevClusterSettings(**v)


def parse_overrides(items: list[str]) -> dict:
    """`key=value` strings → dict; values are parsed as YAML (so 17000 is an int, [a,b] a list)."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({exc})") from None
    return out


def load_settings(overrides: dict | None = None, run_dir: Path | None = None) -> DevClusterSettings:
    """Defaults, then the copy saved in `run_dir` (if any), then `overrides`; validated."""
    values = yaml.safe_load(DEFAULTS_FILE.read_text())
    if run_dir is not None and (Path(run_dir) / SAVED_NAME).exists():
        values.update(json.loads((Path(run_dir) / SAVED_NAME).read_text()))
    values.update(overrides or {})
    return _validate(values)


def save_settings(settings: DevClusterSettings, run_dir: Path) -> None:
    (Path(run_dir) / SAVED_NAME).write_text(json.dumps(settings.to_dict(), indent=2) + "\n")
