"""Structured configs (OmegaConf over dataclasses) and strict loading.

Every area declares its config as a dataclass; `load_config(schema, yaml, overrides)` merges
the YAML and `key=value` overrides onto it and rejects unknown keys, typos (with the closest
key suggested) and wrong types with a `ConfigError` that names the key — before anything runs.
Later areas (synth, train, eval) add their own dataclasses and reuse the same loader.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Type, TypeVar

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from elab_hpc.errors import ConfigError

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_ROOT = REPO_ROOT / "configs"


# --------------------------------------------------------------------------- schemas

@dataclass
class ClusterConfig:
    """Where and how jobs run. The defaults are the embedded `local` profile."""

    name: str = "local"
    backend: str = "local"  # local | slurm | auto (slurm if sbatch is reachable, else local)
    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    time_min: int = 60
    nodes: int = 1
    tasks_per_node: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int = 1
    mem_gb: float = 2.0
    # GPU recipes scale with the GPU count, so `gpus_per_node=0` leaves a CPU-sized job
    cpus_per_gpu: int = 0
    mem_gb_per_gpu: float = 0.0
    constraint: Optional[str] = None
    # warning signal before the kill: sbatch --signal=<signal>@<signal_grace_s>
    signal: str = "USR2"
    signal_grace_s: int = 30
    requeue: bool = True
    max_requeues: int = 3
    setup: List[str] = field(default_factory=list)  # shell lines before the job (module loads)
    array_parallelism: int = 2  # local processes on a small machine; SLURM profiles set their own
    extra_sbatch: Dict[str, str] = field(default_factory=dict)
    log_dir: str = ".elab/jobs"  # submitit folders when no run dir is given
    poll_interval_s: float = 1.0


@dataclass
class StageConfig:
    """One node of a pipeline DAG. `fn` is an import path `module:function`."""

    fn: Optional[str] = None
    command: List[str] = field(default_factory=list)  # alternative to fn: argv run in the stage dir
    kind: str = "single"  # single | array | multinode
    inputs: List[str] = field(default_factory=list)  # names of upstream stages
    outputs: List[str] = field(default_factory=list)  # file names the stage writes in its out dir
    items: int = 0  # array stages: number of items
    shards: int = 1  # array stages: number of array tasks the items are split over
    params: Dict[str, Any] = field(default_factory=dict)
    resources: Dict[str, Any] = field(default_factory=dict)  # overrides of cluster keys


@dataclass
class PipelineConfig:
    name: str = "pipeline"
    run_dir: str = "runs/${name}"
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    stages: Dict[str, StageConfig] = field(default_factory=dict)


KINDS = ("single", "array", "multinode")
BACKENDS = ("local", "slurm", "auto")


# --------------------------------------------------------------------------- loading

def _flat_keys(node: Any, prefix: str = "") -> List[str]:
    keys: List[str] = []
    if isinstance(node, DictConfig):
        for k in node.keys():
            full = f"{prefix}{k}"
            keys.append(full)
            keys.extend(_flat_keys(node._get_node(k), full + "."))
    return keys


def _key_exists(cfg: DictConfig, dotted: str) -> bool:
    node: Any = cfg
    for part in dotted.split("."):
        if isinstance(node, DictConfig) and part in node:
            node = node._get_node(part)
        elif isinstance(node, ListConfig) and part.isdigit() and int(part) < len(node):
            node = node._get_node(int(part))
        else:
            return False
    return True


def suggest_key(key: str, known: List[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _parse_override(item: str) -> tuple[str, str, bool]:
    if "=" not in item:
        raise ConfigError(f"override '{item}' is not of the form key=value")
    key, value = item.split("=", 1)
    adding = key.startswith("+")
    key = key.lstrip("+").strip()
    if not key:
        raise ConfigError(f"override '{item}' has an empty key")
    return key, value, adding


def _error_key(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
    return str(key) if key else "?"


def _merge(base: DictConfig, other: Any, source: str) -> DictConfig:
    known = _flat_keys(base)
    try:
        return OmegaConf.merge(base, other)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        key = _error_key(exc)
        msg = str(exc).splitlines()[0]
        hint = "" if key in known or "did you mean" in msg.lower() else suggest_key(key, known)
        raise ConfigError(f"{source}: invalid key '{key}': {msg}{hint}") from None


def apply_overrides(cfg: DictConfig, overrides: List[str], source: str = "override") -> DictConfig:
    """Apply `key=value` items. A key must exist (typos are errors); `+key=value` adds a new
    key inside a free-form dict such as `params`."""
    for item in overrides:
        key, value, adding = _parse_override(item)
        if not adding and not _key_exists(cfg, key):
            raise ConfigError(
                f"{source} '{item}': unknown key '{key}'{suggest_key(key, _flat_keys(cfg))}"
            )
        try:
            parsed = yaml.safe_load(value) if value != "" else ""
        except yaml.YAMLError:
            parsed = value
        try:
            OmegaConf.update(cfg, key, parsed, merge=True, force_add=False)
        except OmegaConfBaseException as exc:
            msg = str(exc).splitlines()[0]
            raise ConfigError(f"{source} '{item}': invalid value for '{key}': {msg}") from None
    return cfg


def read_yaml(path: Path | str) -> Dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping, got {type(data).__name__}")
    return data


def build_config(schema: Type[T], data: Dict[str, Any], overrides: List[str] | None = None,
                 source: str = "config") -> DictConfig:
    """Schema + data + overrides → validated, resolved DictConfig (struct mode)."""
    # dataclass nodes reject unknown keys by themselves; typed dicts (stages, params) stay open
    base = OmegaConf.structured(schema)
    cfg = _merge(base, data, source)
    cfg = apply_overrides(cfg, list(overrides or []))
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"{source}: cannot resolve '{_error_key(exc)}': {str(exc).splitlines()[0]}") from None
    return cfg


def load_config(schema: Type[T], path: Path | str | None, overrides: List[str] | None = None) -> DictConfig:
    data = read_yaml(path) if path else {}
    return build_config(schema, data, overrides, source=str(path or schema.__name__))


def to_object(cfg: DictConfig) -> Any:
    """The dataclass instance behind a validated config."""
    return OmegaConf.to_object(cfg)


# --------------------------------------------------------------------------- cluster / pipeline

def cluster_profile_path(name: str) -> Path:
    path = CONFIG_ROOT / "cluster" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIG_ROOT / "cluster").glob("*.yaml"))
        raise ConfigError(f"cluster: unknown profile '{name}' (known: {', '.join(known)})"
                          f"{suggest_key(name, known)}")
    return path


def check_cluster(c: ClusterConfig, where: str = "cluster") -> None:
    if c.backend not in BACKENDS:
        raise ConfigError(f"{where}.backend: '{c.backend}' is not one of {', '.join(BACKENDS)}")
    for key in ("nodes", "tasks_per_node", "cpus_per_task", "time_min", "array_parallelism"):
        if getattr(c, key) < 1:
            raise ConfigError(f"{where}.{key}: must be >= 1, got {getattr(c, key)}")
    for key in ("gpus_per_node", "max_requeues", "signal_grace_s", "cpus_per_gpu", "mem_gb_per_gpu"):
        if getattr(c, key) < 0:
            raise ConfigError(f"{where}.{key}: must be >= 0, got {getattr(c, key)}")
    if c.mem_gb <= 0:
        raise ConfigError(f"{where}.mem_gb: must be > 0, got {c.mem_gb}")
    import signal as _signal
    if not hasattr(_signal, "SIG" + c.signal):
        raise ConfigError(f"{where}.signal: unknown signal '{c.signal}' (e.g. USR2)")
    if c.signal == "USR1":
        raise ConfigError(f"{where}.signal: USR1 collides with NCCL's own handler; use USR2")


def job_cpus_per_task(c: ClusterConfig) -> int:
    return max(c.cpus_per_task, (c.gpus_per_node * c.cpus_per_gpu) // max(c.tasks_per_node, 1))


def job_mem_gb(c: ClusterConfig) -> float:
    """Memory per node."""
    return max(c.mem_gb, c.gpus_per_node * c.mem_gb_per_gpu)


def load_cluster(profile: str | Path = "local", overrides: List[str] | None = None) -> ClusterConfig:
    """A cluster profile by name (configs/cluster/<name>.yaml) or path, plus `key=value` overrides."""
    path = Path(profile) if str(profile).endswith(".yaml") else cluster_profile_path(str(profile))
    cfg = load_config(ClusterConfig, path, overrides)
    obj = to_object(cfg)
    check_cluster(obj)
    return obj


def load_pipeline(path: Path | str, overrides: List[str] | None = None) -> DictConfig:
    """A pipeline YAML. `cluster:` may be a profile name; `cluster=NAME` picks another profile,
    `cluster.key=value` changes one field of it. Returns the validated DictConfig."""
    data = read_yaml(path)
    overrides = list(overrides or [])
    profile_override = [o for o in overrides if o.split("=", 1)[0].strip() == "cluster"]
    rest = [o for o in overrides if o not in profile_override]
    if profile_override:
        data["cluster"] = profile_override[-1].split("=", 1)[1].strip()
    if isinstance(data.get("cluster"), str):
        data["cluster"] = read_yaml(cluster_profile_path(data["cluster"]))
    cfg = build_config(PipelineConfig, data, rest, source=str(path))
    check_pipeline(cfg)
    return cfg


def check_pipeline(cfg: DictConfig) -> None:
    obj: PipelineConfig = to_object(cfg)
    check_cluster(obj.cluster)
    if not obj.stages:
        raise ConfigError("stages: a pipeline needs at least one stage")
    for name, st in obj.stages.items():
        where = f"stages.{name}"
        if st.kind not in KINDS:
            raise ConfigError(f"{where}.kind: '{st.kind}' is not one of {', '.join(KINDS)}")
        if bool(st.fn) == bool(st.command):
            raise ConfigError(f"{where}: set exactly one of 'fn' (module:function) or 'command'")
        if st.fn and ":" not in st.fn:
            raise ConfigError(f"{where}.fn: '{st.fn}' must look like 'package.module:function'")
        for dep in st.inputs:
            if dep not in obj.stages:
                raise ConfigError(f"{where}.inputs: unknown stage '{dep}'"
                                  f"{suggest_key(dep, list(obj.stages))}")
        if st.kind == "array" and (st.items < 1 or st.shards < 1):
            raise ConfigError(f"{where}: array stages need items >= 1 and shards >= 1")
        known = set(ClusterConfig.__dataclass_fields__)
        for key in st.resources:
            if key not in known:
                raise ConfigError(f"{where}.resources.{key}: unknown cluster key"
                                  f"{suggest_key(key, sorted(known))}")


def stage_cluster(cluster: ClusterConfig, resources: Dict[str, Any], where: str) -> ClusterConfig:
    """The cluster config of one stage: pipeline cluster + the stage's `resources` overrides."""
    base = OmegaConf.structured(cluster)
    cfg = _merge(base, dict(resources), where + ".resources")
    obj = to_object(cfg)
    check_cluster(obj, where + ".resources")
    return obj
