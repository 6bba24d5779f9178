"""The evaluation config: one dataclass tree loaded strictly from `configs/eval/*.yaml` with
`key=value` overrides (`load_eval_config`). Unknown keys and bad values are ConfigErrors naming
the key; nothing runs (and nothing is submitted) before the config is valid.

`model` picks who answers:
  oracle                 the scripted oracle agent (replays each task's gold actions)
  tiny                   the bundled SmolLM2-135M-Instruct through the `hf` backend
  hf:<folder or hub id>  any local transformers model
  openai:<base_url>[#<served model name>]   any OpenAI-compatible endpoint (vllm serve, transformers serve)
  vllm:<folder>          vLLM's offline engine (optional extra)
The rest of the agent (scaffold, max_turns, max_new_tokens, ...) sits under `agent.`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

from elab_hpc.agent.config import AgentConfig, BackendConfig, check_agent
from elab_hpc.config import CONFIG_ROOT, load_config, to_object
from elab_hpc.errors import ConfigError
from elab_hpc.eval.metrics import Prices, check_prices
from elab_hpc.eval.rewards import RewardConfig, check_reward_config

DEFAULT_EVAL_CONFIG = CONFIG_ROOT / "eval" / "default.yaml"
MODEL_KINDS = ("oracle", "tiny", "hf", "openai", "vllm")


@dataclass
class EvalConfig:
    name: str = "eval"
    model: str = "oracle"
    tasks: str = "arena:test"  # <source>:<selector>, see elab_hpc.eval.tasks
    categories: List[str] = field(default_factory=list)  # empty = all
    apps: List[str] = field(default_factory=list)  # only tasks touching one of these apps (empty = all)
    limit: int = 0  # first N tasks (by id) after filtering; 0 = all
    per_category: int = 0  # at most N tasks (first by id) of each category: a stratified sample; 0 = all
    trials: int = 1  # episodes per task (pass@k / pass^k need several)
    shards: int = 1
    cluster: str = "inline"  # inline (this process) | a cluster profile: local, devcluster, a100, ...
    out_dir: str = "runs/eval/${name}"
    seed: int = 0  # arena world seed
    scale: str = "small"
    # a changed tool surface (configs/adapt/*.yaml) the agent acts on; "" = the arena's own tools
    surface: str = ""
    ks: List[int] = field(default_factory=lambda: [1, 2, 4])  # pass@k / pass^k reported for k <= trials
    bootstrap: int = 1000  # bootstrap resamples for the confidence intervals (0 = none)
    judge: str = ""  # optional extra signal: "module:function(task, answer, log) -> float"; never decides success
    wait_timeout_s: float = 0.0  # cluster runs: give up waiting after this long (0 = no limit)
    agent: AgentConfig = field(default_factory=AgentConfig)
    rewards: RewardConfig = field(default_factory=RewardConfig)
    prices: Prices = field(default_factory=Prices)


def model_kind(model: str) -> str:
    return model.split(":", 1)[0] if ":" in model else model


def apply_model(c: EvalConfig) -> None:
    """Point agent.backend at what `model` names (kind, model path, base_url)."""
    kind = model_kind(c.model)
    if kind not in MODEL_KINDS:
        raise ConfigError(f"model: {c.model!r} — expected oracle, tiny, hf:<path>, openai:<url>[#name] or vllm:<path>")
    b: BackendConfig = c.agent.backend
    rest = c.model.split(":", 1)[1] if ":" in c.model else ""
    if kind in ("hf", "vllm", "openai") and not rest:
        raise ConfigError(f"model: {c.model!r} needs a value after '{kind}:'")
    if kind == "tiny":
        b.kind, b.model = "hf", "tiny"
    elif kind in ("hf", "vllm"):
        b.kind, b.model = kind, rest
    elif kind == "openai":
        url, _, served = rest.partition("#")
        b.kind, b.base_url = "openai", url
        b.model = served or (b.model if b.model != "tiny" else "default")


def check_eval(c: EvalConfig) -> None:
    from arena import SCALES

    for key in ("trials", "shards"):
        if getattr(c, key) < 1:
            raise ConfigError(f"{key}: must be >= 1, got {getattr(c, key)}")
    for key in ("limit", "bootstrap", "per_category"):
        if getattr(c, key) < 0:
            raise ConfigError(f"{key}: must be >= 0, got {getattr(c, key)}")
    if any(k < 1 for k in c.ks):
        raise ConfigError(f"ks: every k must be >= 1, got {c.ks}")
    if c.scale not in SCALES:
        raise ConfigError(f"scale: {c.scale!r} is not one of {', '.join(SCALES)}")
    if ":" not in c.tasks:
        raise ConfigError(f"tasks: {c.tasks!r} — expected <source>:<selector>, e.g. arena:test")
    if c.surface:
        if c.tasks.partition(":")[0] not in ("arena", "jsonl"):
            raise ConfigError(f"surface: only arena tasks (arena:, jsonl:) run on a changed surface, not {c.tasks!r}")
        from elab_hpc.adapt.surface import surface_digest

        try:
            surface_digest(c.surface)  # missing file or bad change config
        except ConfigError as exc:
            raise ConfigError(f"surface: {exc}") from None
    if c.judge and ":" not in c.judge:
        raise ConfigError(f"judge: {c.judge!r} — expected module:function")
    if c.cluster != "inline":
        from elab_hpc.config import load_cluster

        load_cluster(c.cluster)  # unknown profile → ConfigError naming it
    apply_model(c)
    if model_kind(c.model) != "oracle":
        check_agent(c.agent)
    check_reward_config(c.rewards)
    check_prices(c.prices)


def load_eval_config(path: Optional[str | Path] = None, overrides: Optional[List[str]] = None) -> EvalConfig:
    """configs/eval/default.yaml (or `path`) + `key=value` overrides → a checked EvalConfig."""
    cfg = load_config(EvalConfig, path or DEFAULT_EVAL_CONFIG, overrides)
    obj: EvalConfig = to_object(cfg)
    check_eval(obj)
    return obj


def fingerprint(c: EvalConfig) -> str:
    """What the episodes depend on (model, agent, world, task selection, trials) — not sharding,
    cluster, reporting or prices, so a resharded or re-reported run reuses its episodes."""
    d = {"model": c.model, "tasks": c.tasks, "categories": c.categories, "apps": c.apps, "limit": c.limit,
         "per_category": c.per_category,
         "trials": c.trials, "seed": c.seed, "scale": c.scale}
    if c.surface:  # by content: the same change under another path reuses the episodes
        from elab_hpc.adapt.surface import surface_digest

        d["surface"] = surface_digest(c.surface)
    if model_kind(c.model) != "oracle":
        agent = asdict(c.agent)
        for k in ("base_url", "api_key_env", "timeout_s", "max_retries", "concurrency", "batch_size", "device",
                  "cpu_threads"):
            agent["backend"].pop(k, None)
        d["agent"] = agent
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]
