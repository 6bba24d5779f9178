"""TrainConfig: one structured config for SFT, DPO and GRPO runs (YAML under configs/train/).

Loaded with the project's strict loader (`elab_hpc.config.load_config`): unknown keys, typos in
overrides and wrong types are ConfigErrors naming the key; `check_train` then checks values and
referenced files before anything is built or submitted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.config import CONFIG_ROOT, REPO_ROOT, cluster_profile_path, load_config, to_object
from elab_hpc.errors import ConfigError

KINDS = ("sft", "dpo", "grpo")
DTYPES = ("float32", "bfloat16", "float16")
DEVICES = ("cpu", "cuda")
GRPO_MODES = ("agentic", "token")
REWARD_KEYS = ("r1", "r2", "r3", "r4")


@dataclass
class ModelConfig:
    # "tiny" = the bundled SmolLM2-135M-Instruct (elab_hpc.agent.tiny_model); else an HF folder/id
    name_or_path: str = "tiny"
    # keep only the first N decoder layers (fast CI/smoke runs of a real architecture); null = all
    num_layers: Optional[int] = None
    dtype: str = "float32"
    # bf16: weights stay in `dtype`, matmuls run in bfloat16 under autocast. On CPUs with
    # AVX512-BF16 or AMX (EPYC Zen 4, Xeon Sapphire Rapids) a tiny-model step is ~1.6x faster
    mixed_precision: str = "no"
    attn_implementation: Optional[str] = None  # e.g. sdpa, flash_attention_2; null = default
    gradient_checkpointing: bool = False


@dataclass
class LoraSection:
    enabled: bool = False
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: List[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    # an earlier run's adapter folder to continue training (environment-change adaptation); its own
    # LoraConfig then applies and r / alpha / target_modules here are not used
    init_adapter: Optional[str] = None
    # adapters on the top N decoder layers only (0 = all): backward then stops at the lowest adapted
    # layer, which roughly halves a CPU step when N is a quarter of the depth
    last_layers: int = 0


@dataclass
class DataSection:
    # SFT: trajectory records (JSONL with messages + tools); DPO: pairs (prompt/chosen/rejected)
    train: str = ""
    # DPO only: EpisodeLog-like JSONL of evaluation rollouts to mine (success, failure) pairs from
    mine_from: Optional[str] = None
    # "auto" = the agent's training template if present, else elab_hpc/train/templates/chatml_tools.jinja;
    # "model" = the tokenizer's own; or a path to a .jinja file
    chat_template: str = "auto"
    max_length: int = 1024
    packing: bool = False
    assistant_only_loss: bool = True
    limit: Optional[int] = None  # use only the first N records


@dataclass
class OptimSection:
    lr: float = 2e-5
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 1  # per device
    grad_accum: int = 1
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    scheduler: str = "linear"
    max_grad_norm: float = 1.0
    seed: int = 0


@dataclass
class CheckpointSection:
    every_steps: int = 50
    keep: int = 2
    resume: bool = True  # continue from the latest good checkpoint in output_dir
    # sha256 every file of a checkpoint (catches corruption); false = sizes only (huge models)
    hash_files: bool = True


@dataclass
class DPOSection:
    beta: float = 0.1
    loss_type: str = "sigmoid"
    max_pairs_per_task: int = 4  # mining: pairs per task id


@dataclass
class GRPOSection:
    mode: str = "agentic"  # agentic (multi-turn arena episodes) | token (single turn, no environment)
    # tasks: a JSONL file of suite tasks ({id, intent, checks, gold_actions, apps}) or arena:<split>
    tasks: str = ""
    apps: List[str] = field(default_factory=list)  # only tasks whose apps all lie here (empty = all)
    offer_tools: str = "apps"  # apps = every tool of the task's apps; gold = only the gold tools
    num_generations: int = 4
    max_turns: int = 4
    max_new_tokens: int = 96  # per policy turn
    max_observation_tokens: int = 256  # an observation is cut to this many tokens
    temperature: float = 1.0
    beta: float = 0.0
    reward_weights: Dict[str, float] = field(
        default_factory=lambda: {"r1": 0.25, "r2": 0.25, "r3": 0.4, "r4": 0.1})
    arena_seed: int = 0
    arena_scale: str = "small"
    use_vllm: bool = False
    # agentic episode loop: fc = native tool calls in the chat template (grpo.Episode); react = the
    # evaluator's own loop (elab_hpc.agent.runner) and ReAct prompt, so training episodes are what
    # evaluation runs (elab_hpc.train.grpo_react)
    scaffold: str = "fc"
    # react: the evaluator config + overrides whose agent section (prompt, turns, observation
    # budget, tokens per turn, context) and rewards the episodes use; grpo.max_turns,
    # max_new_tokens and max_observation_tokens are then not used, grpo.temperature still is
    eval_config: str = ""
    eval_overrides: List[str] = field(default_factory=list)


@dataclass
class TrainConfig:
    name: str = "train"
    kind: str = "sft"  # sft | dpo | grpo (the CLI subcommand sets it)
    output_dir: str = "runs/train/${name}"
    model: ModelConfig = field(default_factory=ModelConfig)
    lora: LoraSection = field(default_factory=LoraSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    dpo: DPOSection = field(default_factory=DPOSection)
    grpo: GRPOSection = field(default_factory=GRPOSection)
    device: str = "cpu"  # cpu | cuda
    deepspeed: Optional[str] = None  # path to a DeepSpeed JSON (configs/deepspeed/...)
    logging_steps: int = 1
    threads: int = 0  # torch threads per process; 0 = torch's default
    # where it runs: local = this machine (or inside a job); a profile of configs/cluster/ submits
    cluster: str = "local"
    nodes: int = 1
    nproc_per_node: int = 1
    cluster_overrides: List[str] = field(default_factory=list)  # e.g. ["time_min=30"]


def resolve_path(p: str) -> Path:
    """Relative paths are taken from the working directory, then from the repository root."""
    path = Path(p).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path if (REPO_ROOT / path).exists() else path


def _require_file(value: Optional[str], key: str) -> None:
    if value and not resolve_path(value).is_file():
        raise ConfigError(f"{key}: file not found: {value}")


def check_train(c: TrainConfig) -> None:
    """Value checks (the loader already rejected unknown keys and wrong types)."""
    if c.kind not in KINDS:
        raise ConfigError(f"kind: '{c.kind}' is not one of {', '.join(KINDS)}")
    if c.model.dtype not in DTYPES:
        raise ConfigError(f"model.dtype: '{c.model.dtype}' is not one of {', '.join(DTYPES)}")
    if c.model.num_layers is not None and c.model.num_layers < 1:
        raise ConfigError(f"model.num_layers: must be >= 1 or null, got {c.model.num_layers}")
    if c.device not in DEVICES:
        raise ConfigError(f"device: '{c.device}' is not one of {', '.join(DEVICES)}")
    if c.model.mixed_precision not in ("no", "bf16"):
        raise ConfigError(f"model.mixed_precision: '{c.model.mixed_precision}' is not one of no, bf16")
    if c.device == "cpu" and c.model.dtype == "float16":
        raise ConfigError("model.dtype: float16 training needs device=cuda")
    for key in ("optim.batch_size", "optim.grad_accum", "checkpoint.every_steps", "checkpoint.keep",
                "logging_steps", "nodes", "nproc_per_node", "data.max_length"):
        section, _, leaf = key.rpartition(".")
        value = getattr(getattr(c, section) if section else c, leaf)
        if value < 1:
            raise ConfigError(f"{key}: must be >= 1, got {value}")
    if c.optim.lr <= 0:
        raise ConfigError(f"optim.lr: must be > 0, got {c.optim.lr}")
    if c.optim.max_steps <= 0 and c.optim.epochs <= 0:
        raise ConfigError("optim: set max_steps > 0 or epochs > 0")
    if c.lora.enabled and (c.lora.r < 1 or not c.lora.target_modules):
        raise ConfigError("lora: r must be >= 1 and target_modules non-empty when lora.enabled")
    if c.lora.last_layers < 0:
        raise ConfigError(f"lora.last_layers: {c.lora.last_layers} < 0 (0 = every layer)")
    if c.lora.init_adapter:
        if not c.lora.enabled:
            raise ConfigError("lora.init_adapter: set lora.enabled=true to continue training an adapter")
        if not (resolve_path(c.lora.init_adapter) / "adapter_config.json").is_file():
            raise ConfigError(f"lora.init_adapter: {c.lora.init_adapter} is not a PEFT adapter folder "
                              f"(no adapter_config.json)")
    if c.data.chat_template not in ("auto", "model"):
        _require_file(c.data.chat_template, "data.chat_template")
    if c.kind in ("sft", "dpo"):
        if not c.data.train and not (c.kind == "dpo" and c.data.mine_from):
            raise ConfigError(f"data.train: {c.kind} needs a JSONL file of records"
                              + (" (or data.mine_from)" if c.kind == "dpo" else ""))
        _require_file(c.data.train, "data.train")
        _require_file(c.data.mine_from, "data.mine_from")
    if c.kind == "grpo":
        g = c.grpo
        if g.mode not in GRPO_MODES:
            raise ConfigError(f"grpo.mode: '{g.mode}' is not one of {', '.join(GRPO_MODES)}")
        if not g.tasks:
            raise ConfigError("grpo.tasks: GRPO needs a JSONL file of tasks")
        if not g.tasks.startswith("arena:"):
            _require_file(g.tasks, "grpo.tasks")
        if g.scaffold not in ("fc", "react"):
            raise ConfigError(f"grpo.scaffold: '{g.scaffold}' is not one of fc, react")
        if g.scaffold == "react" and (g.mode != "agentic" or not g.eval_config):
            raise ConfigError("grpo.scaffold=react: needs grpo.mode=agentic and grpo.eval_config (the evaluator "
                              "config whose agent settings the episodes use, e.g. configs/eval/default.yaml)")
        if g.eval_config:
            _require_file(g.eval_config, "grpo.eval_config")
        if g.offer_tools not in ("apps", "gold"):
            raise ConfigError(f"grpo.offer_tools: '{g.offer_tools}' is not one of apps, gold")
        if g.num_generations < 2:
            raise ConfigError(f"grpo.num_generations: must be >= 2 (a group), got {g.num_generations}")
        if g.max_turns < 1 or g.max_new_tokens < 1:
            raise ConfigError("grpo.max_turns and grpo.max_new_tokens must be >= 1")
        unknown = sorted(set(g.reward_weights) - set(REWARD_KEYS))
        if unknown:
            raise ConfigError(f"grpo.reward_weights: unknown component(s) {unknown} (known: r1..r4)")
        if any(w < 0 for w in g.reward_weights.values()) or sum(g.reward_weights.values()) <= 0:
            raise ConfigError("grpo.reward_weights: weights must be >= 0 with a positive sum")
    if c.deepspeed:
        _require_file(c.deepspeed, "deepspeed")
        try:
            json.loads(resolve_path(c.deepspeed).read_text())
        except ValueError as exc:
            raise ConfigError(f"deepspeed: {c.deepspeed} is not valid JSON: {exc}") from None
    if c.cluster != "local":
        cluster_profile_path(c.cluster)  # unknown profile → ConfigError listing the known ones


def train_config_path(name_or_path: str) -> Path:
    """A config by path, or by name from configs/train/ (e.g. `sft_tiny`)."""
    p = resolve_path(name_or_path)
    if p.is_file():
        return p
    named = CONFIG_ROOT / "train" / f"{name_or_path}.yaml"
    if named.is_file():
        return named
    known = sorted(x.stem for x in (CONFIG_ROOT / "train").glob("*.yaml"))
    raise ConfigError(f"train config not found: '{name_or_path}' (a path, or one of: {', '.join(known)})")


def load_train(name_or_path: str, overrides: Optional[List[str]] = None, kind: Optional[str] = None) -> TrainConfig:
    """Load, override, validate. `kind` (from the CLI subcommand) must match the file's kind."""
    path = train_config_path(name_or_path)
    cfg: TrainConfig = to_object(load_config(TrainConfig, path, overrides))
    if kind is not None and cfg.kind != kind:
        raise ConfigError(f"kind: {path} is a '{cfg.kind}' config, but `train {kind}` was asked; "
                          f"use `elab-hpc train {cfg.kind}` or another config")
    check_train(cfg)
    return cfg


def as_dict(c: TrainConfig) -> Dict[str, Any]:
    from dataclasses import asdict

    return asdict(c)
