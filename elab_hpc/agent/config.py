"""Agent configs as data: which model answers (`BackendConfig`) and how an episode runs
(`AgentConfig`). Loaded from YAML (`configs/agent/*.yaml`) with `key=value` overrides through the
project's strict loader: unknown keys, typos and bad values fail with a ConfigError naming the key.

    cfg = load_agent_config("configs/agent/react_tiny.yaml", ["backend.temperature=0.7"])
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlparse

from elab_hpc.config import CONFIG_ROOT, build_config, read_yaml, to_object
from elab_hpc.errors import ConfigError

BACKEND_KINDS = ("hf", "openai", "vllm")
SCAFFOLDS = ("react", "fc")
TOOL_LISTINGS = ("json", "signature")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
TINY = "tiny"  # the bundled SmolLM2-135M-Instruct (elab_hpc.agent.tiny_model)


@dataclass
class BackendConfig:
    """One model behind the generate() interface."""

    kind: str = "hf"  # hf (transformers in-process) | openai (any compatible endpoint) | vllm (offline engine)
    model: str = TINY  # HF folder / hub id, the served model name (openai), or `tiny`
    base_url: Optional[str] = None  # openai: e.g. http://127.0.0.1:8000/v1
    # openai: NAME of the environment variable holding the key; the key itself never sits in a config
    api_key_env: Optional[str] = None
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    batch_size: int = 8  # hf/vllm: conversations per generate call
    timeout_s: float = 120.0  # openai: per request
    max_retries: int = 4  # openai: on 429, 5xx, timeouts and dropped connections
    concurrency: int = 4  # openai: requests in flight
    device: str = "auto"  # hf: auto | cpu | cuda | cuda:N
    dtype: str = "auto"  # hf: auto | float32 | bfloat16 | float16
    cpu_threads: int = 0  # hf on CPU: torch threads (0 = torch's default); 1 avoids thrashing on busy hosts
    chat_template: str = "auto"  # auto (ours when the model's has no tool support) | model | chatml_tools
    seed: int = 0


@dataclass
class AgentConfig:
    """One scaffold: how an episode turns model output into tool calls and when it stops."""

    scaffold: str = "react"  # react (Thought/Action/Action Input text) | fc (native tool calls)
    max_turns: int = 8
    obs_budget_tokens: int = 256  # each observation is normalized to fit this
    max_context_tokens: int = 6000  # stop when the conversation would outgrow this
    max_repeated_failures: int = 2  # the same failing call this many times in a row ends the episode
    system_prompt: Optional[str] = None  # extra instructions placed before the scaffold's own
    # react: each tool's description is cut to this many characters in the prompt; the prompt's
    # tool list dominates prefill cost on CPU, and a short first clause is what small models use
    tool_description_chars: int = 200
    # react: how each tool's arguments are listed. json: {"name": "type", "opt?": "type"} (types
    # help an untrained model); signature: name(arg, opt?) at about half the prompt tokens, for
    # models that learn the argument shapes from SFT rows rendered the same way
    tool_listing: str = "json"
    # react: the model's turn starts with this (backends that can continue a message; small
    # models then keep to the format far more often). "" = no prefill
    react_prefix: str = "Thought:"
    apps: List[str] = field(default_factory=list)  # tools offered: these apps (empty = the task's / all)
    # episodes open at once (each holds an environment copy); they advance in lockstep batches
    parallel_episodes: int = 64
    backend: BackendConfig = field(default_factory=BackendConfig)

    def config_hash(self) -> str:
        """Everything that changes what an episode does (the cache key's config part)."""
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in {h.strip("[]") for h in LOCAL_HOSTS}


def check_backend(b: BackendConfig, where: str = "backend") -> None:
    if b.kind not in BACKEND_KINDS:
        raise ConfigError(f"{where}.kind: '{b.kind}' is not one of {', '.join(BACKEND_KINDS)}")
    if not b.model:
        raise ConfigError(f"{where}.model: must name a model")
    for key in ("max_new_tokens", "batch_size", "concurrency"):
        if getattr(b, key) < 1:
            raise ConfigError(f"{where}.{key}: must be >= 1, got {getattr(b, key)}")
    for key in ("max_retries", "cpu_threads"):
        if getattr(b, key) < 0:
            raise ConfigError(f"{where}.{key}: must be >= 0, got {getattr(b, key)}")
    if b.timeout_s <= 0:
        raise ConfigError(f"{where}.timeout_s: must be > 0, got {b.timeout_s}")
    if b.temperature < 0:
        raise ConfigError(f"{where}.temperature: must be >= 0, got {b.temperature}")
    if not 0 < b.top_p <= 1:
        raise ConfigError(f"{where}.top_p: must be in (0, 1], got {b.top_p}")
    if b.dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise ConfigError(f"{where}.dtype: '{b.dtype}' is not one of auto, float32, bfloat16, float16")
    if b.kind == "openai":
        if not b.base_url:
            raise ConfigError(f"{where}.base_url: kind=openai needs the endpoint, e.g. http://127.0.0.1:8000/v1")
        if urlparse(b.base_url).scheme not in ("http", "https"):
            raise ConfigError(f"{where}.base_url: '{b.base_url}' is not an http(s) URL")
        if not _is_local(b.base_url) and not b.api_key_env:
            raise ConfigError(f"{where}.api_key_env: {b.base_url} is not local, so name the environment "
                              "variable that holds its API key (the key never goes into a config)")


def check_agent(c: AgentConfig, where: str = "agent") -> None:
    if c.scaffold not in SCAFFOLDS:
        raise ConfigError(f"{where}.scaffold: '{c.scaffold}' is not one of {', '.join(SCAFFOLDS)}")
    for key in ("max_turns", "obs_budget_tokens", "max_context_tokens", "max_repeated_failures",
                "parallel_episodes"):
        if getattr(c, key) < 1:
            raise ConfigError(f"{where}.{key}: must be >= 1, got {getattr(c, key)}")
    if c.tool_description_chars < 0:
        raise ConfigError(f"{where}.tool_description_chars: must be >= 0 (0 = names and arguments only), "
                          f"got {c.tool_description_chars}")
    if c.tool_listing not in TOOL_LISTINGS:
        raise ConfigError(f"{where}.tool_listing: '{c.tool_listing}' is not one of {', '.join(TOOL_LISTINGS)}")
    check_backend(c.backend, f"{where}.backend")


def _reject_inline_keys(data: Dict[str, Any], source: str) -> None:
    backend = data.get("backend") or {}
    if isinstance(backend, dict) and "api_key" in backend:
        raise ConfigError(f"{source}: backend.api_key is not allowed — put the key in an environment "
                          "variable and name that variable in backend.api_key_env")


def build_agent_config(data: Dict[str, Any], overrides: Optional[List[str]] = None,
                       source: str = "agent") -> AgentConfig:
    _reject_inline_keys(data, source)
    if any(o.split("=", 1)[0].strip().lstrip("+") == "backend.api_key" for o in overrides or []):
        raise ConfigError("backend.api_key is not allowed as an override — use backend.api_key_env")
    cfg: AgentConfig = to_object(build_config(AgentConfig, data, overrides, source=source))
    check_agent(cfg)
    return cfg


def agent_config_path(name: str | Path) -> Path:
    """A path, or the name of a bundled config under configs/agent/."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    bundled = CONFIG_ROOT / "agent" / f"{name}.yaml"
    if bundled.is_file():
        return bundled
    known = sorted(p.stem for p in (CONFIG_ROOT / "agent").glob("*.yaml"))
    raise ConfigError(f"agent config '{name}' not found (a YAML path or one of: {', '.join(known)})")


def load_agent_config(name: str | Path | None = None, overrides: Optional[List[str]] = None) -> AgentConfig:
    if name is None:
        return build_agent_config({}, overrides)
    path = agent_config_path(name)
    return build_agent_config(read_yaml(path), overrides, source=str(path))
