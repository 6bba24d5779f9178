"""Trajectory rewards r1..r4 and their weighted sum — pure functions over (task, episode log,
check results), shared by evaluation and GRPO training.

  r1  tool selection accuracy against the gold tools:
        "lcs"  order-aware: F1 of the longest common subsequence (precision LCS/|pred|, recall LCS/|gold|)
        "set"  set-based F1 over the distinct tool names
  r2  execution success: share of the agent's calls that ran without a runtime or validation error
  r3  final correctness from the executed checks: "fraction" passed, or "all" (1 only if every one passed)
  r4  format compliance: 1 - format_errors / turns (ReAct structure or well-formed tool calls)
  r   Σ w_k r_k / Σ w_k, in [0, 1]

`log` is an `elab_hpc.agent.runner.EpisodeLog` or its dict (`actions` [{tool, ok}], `turns`,
`format_errors`); `task` a suite task dict (`gold_actions`); `check_results` what
`elab_hpc.env.checks.run_checks` returns ([{passed}]).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Sequence

from elab_hpc.errors import ConfigError

R1_VARIANTS = ("lcs", "set")
R3_MODES = ("fraction", "all")
COMPONENTS = ("r1", "r2", "r3", "r4")


@dataclass
class RewardConfig:
    weights: Dict[str, float] = field(default_factory=lambda: {"r1": 0.2, "r2": 0.1, "r3": 0.6, "r4": 0.1})
    r1_variant: str = "lcs"  # lcs (order-aware) | set
    r3_mode: str = "fraction"  # fraction | all


def check_reward_config(c: RewardConfig, where: str = "rewards") -> None:
    unknown = [k for k in c.weights if k not in COMPONENTS]
    if unknown:
        raise ConfigError(f"{where}.weights: unknown component {unknown[0]!r}; known: {', '.join(COMPONENTS)}")
    for k, w in c.weights.items():
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0:
            raise ConfigError(f"{where}.weights.{k}: must be a number >= 0, got {w!r}")
    if sum(c.weights.values()) <= 0:
        raise ConfigError(f"{where}.weights: at least one weight must be > 0")
    if c.r1_variant not in R1_VARIANTS:
        raise ConfigError(f"{where}.r1_variant: {c.r1_variant!r} is not one of {', '.join(R1_VARIANTS)}")
    if c.r3_mode not in R3_MODES:
        raise ConfigError(f"{where}.r3_mode: {c.r3_mode!r} is not one of {', '.join(R3_MODES)}")


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, Mapping) else getattr(obj, key, default)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _f1(hit: float, n_pred: int, n_gold: int) -> float:
    if n_pred == 0 and n_gold == 0:
        return 1.0
    if hit == 0:
        return 0.0
    p, r = hit / n_pred, hit / n_gold
    return 2 * p * r / (p + r)


def tool_selection_lcs(pred: Sequence[str], gold: Sequence[str]) -> float:
    return _f1(lcs_length(pred, gold), len(pred), len(gold))


def tool_selection_set(pred: Sequence[str], gold: Sequence[str]) -> float:
    p, g = set(pred), set(gold)
    return _f1(len(p & g), len(p), len(g))


def r1_tool_selection(pred: Sequence[str], gold: Sequence[str], variant: str = "lcs") -> float:
    return tool_selection_lcs(pred, gold) if variant == "lcs" else tool_selection_set(pred, gold)


def r2_execution(actions: Sequence[Mapping[str, Any]], n_gold: int = 1) -> float:
    """Share of calls that succeeded; no call at all scores 0 unless the task needs none."""
    if not actions:
        return 1.0 if n_gold == 0 else 0.0
    return sum(1 for a in actions if a.get("ok")) / len(actions)


def r3_correctness(check_results: Sequence[Mapping[str, Any]], mode: str = "fraction") -> float:
    if not check_results:
        return 0.0  # a task without checks proves nothing
    passed = sum(1 for r in check_results if r.get("passed"))
    if mode == "all":
        return 1.0 if passed == len(check_results) else 0.0
    return passed / len(check_results)


def r4_format(format_errors: int, turns: int) -> float:
    if turns <= 0:
        return 0.0 if format_errors else 1.0
    return max(0.0, 1.0 - format_errors / turns)


@dataclass
class Reward:
    r1: float
    r2: float
    r3: float
    r4: float
    r: float
    r1_lcs: float
    r1_set: float
    r3_fraction: float
    r3_all: float

    def to_dict(self) -> Dict[str, float]:
        return {k: round(v, 6) for k, v in asdict(self).items()}


def tool_names(actions: Sequence[Mapping[str, Any]]) -> List[str]:
    return [str(a.get("tool")) for a in actions]


def compute_reward(task: Mapping[str, Any], log: Any, check_results: Sequence[Mapping[str, Any]],
                   cfg: RewardConfig | None = None) -> Reward:
    cfg = cfg or RewardConfig()
    actions = list(_get(log, "actions") or [])
    pred, gold = tool_names(actions), tool_names(task.get("gold_actions") or [])
    lcs, st = tool_selection_lcs(pred, gold), tool_selection_set(pred, gold)
    frac, every = r3_correctness(check_results, "fraction"), r3_correctness(check_results, "all")
    parts = {"r1": lcs if cfg.r1_variant == "lcs" else st,
             "r2": r2_execution(actions, len(gold)),
             "r3": frac if cfg.r3_mode == "fraction" else every,
             "r4": r4_format(int(_get(log, "format_errors") or 0), int(_get(log, "turns") or 0))}
    total_w = sum(cfg.weights.get(k, 0.0) for k in COMPONENTS)
    r = sum(cfg.weights.get(k, 0.0) * parts[k] for k in COMPONENTS) / total_w
    return Reward(r=min(1.0, max(0.0, r)), r1_lcs=lcs, r1_set=st, r3_fraction=frac, r3_all=every, **parts)
