"""The synthesis config: one dataclass tree, loaded strictly from `configs/synth/*.yaml` with
`key=value` overrides (`load_synth_config`). Unknown keys and bad values are ConfigErrors that
name the key; nothing runs before the config is valid."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from elab_hpc.config import CONFIG_ROOT, load_config, to_object
from elab_hpc.errors import ConfigError

DEFAULT_SYNTH_CONFIG = CONFIG_ROOT / "synth" / "default.yaml"
COMPOSERS = ("template", "llm")
SPLITS = ("train", "test", "none")


@dataclass
class ArenaSourceConfig:
    """Which arena world the trajectories execute in."""

    seed: int = 0
    scale: str = "small"
    apps: List[str] = field(default_factory=list)  # empty = all apps
    # a changed tool surface (configs/adapt/*.yaml): trajectories use the new versions of its tools
    surface: str = ""


@dataclass
class SamplerConfig:
    max_depth: int = 4  # tool calls per trajectory at most
    min_depth: int = 1
    branching: int = 4  # successors tried at each DFS node before backtracking
    k_per_start: int = 4  # valid trajectories wanted per entry node per round
    time_budget_s: float = 0.0  # 0 = no limit
    max_attempts_per_start: int = 24  # DFS restarts per entry node before giving up on it
    prefer_local: float = 0.85  # probability of following an edge whose inputs local memory satisfies
    continue_prob: float = 0.9  # probability of extending a valid trajectory beyond min_depth
    optional_arg_prob: float = 0.35  # probability of filling an optional parameter
    keep_failed: bool = True  # keep failed attempts (DPO negatives)
    max_per_sequence: int = 3  # trajectories per exact tool sequence (0 = unlimited): variety over repeats
    require_link: bool = True  # every step after the first uses an earlier step's output (id or mention)
    reuse_episode: bool = True  # roll one episode back to the template per walk instead of opening a new one
    # registry names never sampled (bash.run_command starts a real process per call: slow, and its
    # scratch directory outlives a rolled-back walk)
    exclude_tools: List[str] = field(default_factory=lambda: ["bash.run_command"])
    exclude_apps: List[str] = field(default_factory=list)
    # incremental data after a surface change: sample only the focus tools and their neighbours in
    # the tool graph (within focus_hops edges, either direction), prefer focus tools as next steps
    # (focus_weight x), and keep a trajectory only if it calls a focus tool (require_focus)
    focus_tools: List[str] = field(default_factory=list)  # registry names; empty = no focus
    focus_hops: int = 1
    focus_weight: float = 4.0
    require_focus: bool = True


@dataclass
class ComposerConfig:
    kind: str = "template"  # template | llm (llm needs a model backend; falls back to templates)
    max_checks: int = 12
    answer_facts: bool = True  # add answer_contains checks for values read steps return


@dataclass
class FilterConfig:
    """Validation and filtering knobs (used by the filtering stage)."""

    dedup_exact: bool = True
    fuzzy_threshold: float = 0.9  # rapidfuzz ratio (0..1) at or above which two intents are duplicates
    mmr_lambda: float = 0.7  # relevance vs diversity in MMR selection
    mmr_keep: int = 0  # 0 = keep all that survive de-duplication
    replay: bool = True  # re-execute gold actions in a fresh episode and require checks to pass
    schema_check: bool = True  # every call's arguments must validate against the tool's schema


@dataclass
class SynthConfig:
    name: str = "synth"
    n: int = 1500  # trajectories wanted (over all shards)
    seed: int = 0
    shards: int = 1
    out_dir: str = "runs/synth/${name}"
    source: str = "synth"  # meta.source of every record
    arena: ArenaSourceConfig = field(default_factory=ArenaSourceConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    composer: ComposerConfig = field(default_factory=ComposerConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    split: str = "train"
    cluster: str = "local"  # cluster profile name (configs/cluster/<name>.yaml)
    # intents + gold tool sequences never to synthesize (the task suite's test split; see run.py)
    exclude_tasks: Optional[str] = None
    # your own MCP servers instead of the arena: an external environment config
    # (elab_hpc/env/external.py, e.g. examples/byo_mcp/env.yaml); `arena.*` is then unused
    env: Optional[str] = None


def check_synth(c: SynthConfig) -> None:
    s = c.sampler
    for key, value in (("n", c.n), ("shards", c.shards), ("sampler.max_depth", s.max_depth),
                       ("sampler.min_depth", s.min_depth), ("sampler.branching", s.branching),
                       ("sampler.k_per_start", s.k_per_start), ("sampler.max_attempts_per_start",
                                                                 s.max_attempts_per_start),
                       ("composer.max_checks", c.composer.max_checks)):
        if value < 1:
            raise ConfigError(f"{key}: must be >= 1, got {value}")
    if s.min_depth > s.max_depth:
        raise ConfigError(f"sampler.min_depth ({s.min_depth}) must be <= sampler.max_depth ({s.max_depth})")
    for key, value in (("sampler.prefer_local", s.prefer_local), ("sampler.continue_prob", s.continue_prob),
                       ("sampler.optional_arg_prob", s.optional_arg_prob),
                       ("filter.fuzzy_threshold", c.filter.fuzzy_threshold),
                       ("filter.mmr_lambda", c.filter.mmr_lambda)):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{key}: must be within [0, 1], got {value}")
    if s.max_per_sequence < 0:
        raise ConfigError(f"sampler.max_per_sequence: must be >= 0, got {s.max_per_sequence}")
    if s.focus_hops < 0 or s.focus_weight <= 0:
        raise ConfigError(f"sampler.focus_hops must be >= 0 and sampler.focus_weight > 0, "
                          f"got {s.focus_hops}, {s.focus_weight}")
    if c.arena.surface:
        from elab_hpc.adapt.surface import surface_digest

        try:
            surface_digest(c.arena.surface)  # missing file or bad change config
        except ConfigError as exc:
            raise ConfigError(f"arena.surface: {exc}") from None
    if s.time_budget_s < 0:
        raise ConfigError(f"sampler.time_budget_s: must be >= 0, got {s.time_budget_s}")
    if c.composer.kind not in COMPOSERS:
        raise ConfigError(f"composer.kind: '{c.composer.kind}' is not one of {', '.join(COMPOSERS)}")
    if c.split not in SPLITS:
        raise ConfigError(f"split: '{c.split}' is not one of {', '.join(SPLITS)}")
    from arena import APP_NAMES, SCALES

    if c.arena.scale not in SCALES:
        raise ConfigError(f"arena.scale: '{c.arena.scale}' is not one of {', '.join(SCALES)}")
    for key, apps in (("arena.apps", c.arena.apps), ("sampler.exclude_apps", s.exclude_apps)):
        bad = [a for a in apps if a not in APP_NAMES]
        if bad:
            raise ConfigError(f"{key}: unknown app(s) {', '.join(bad)}; known: {', '.join(APP_NAMES)}")


def load_synth_config(path: Optional[str | Path] = None, overrides: Optional[List[str]] = None) -> SynthConfig:
    """configs/synth/default.yaml (or `path`) + `key=value` overrides → a checked SynthConfig."""
    cfg = load_config(SynthConfig, path or DEFAULT_SYNTH_CONFIG, overrides)
    obj: SynthConfig = to_object(cfg)
    check_synth(obj)
    return obj
