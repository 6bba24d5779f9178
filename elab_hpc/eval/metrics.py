"""Evaluation metrics over episode results (one dict per (task, trial), see `run.episode_result`).

- success rate (every check passed), mean r, r1..r4;
- pass@k and pass^k over n trials per task, unbiased estimators:
    pass@k = 1 - C(n-c, k) / C(n, k)   (at least one of k sampled trials succeeds; Chen et al. 2021)
    pass^k = C(c, k) / C(n, k)         (all k sampled trials succeed; tau-bench)
  with c successes out of n trials, averaged over tasks;
- breakdowns per category and per app (a task counts for every app it touches);
- mean turns and tokens, cost per task from $ per 1M prompt / completion tokens;
- bootstrap confidence intervals (resampling TASKS, so trials of one task stay together);
- paired comparison of two models on the same tasks: the difference after − before with a paired
  bootstrap CI (tasks resampled, both models' results of a task drawn together).
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from math import comb
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from elab_hpc.errors import ConfigError


@dataclass
class Prices:
    prompt_per_m: float = 0.0  # $ per 1M prompt tokens
    completion_per_m: float = 0.0  # $ per 1M completion tokens


def check_prices(p: Prices, where: str = "prices") -> None:
    for k in ("prompt_per_m", "completion_per_m"):
        v = getattr(p, k)
        if v < 0:
            raise ConfigError(f"{where}.{k}: must be >= 0, got {v}")


def pass_at_k(n: int, c: int, k: int) -> float:
    if k <= 0 or k > n:
        raise ValueError(f"pass@k needs 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    if k <= 0 or k > n:
        raise ValueError(f"pass^k needs 1 <= k <= n, got k={k}, n={n}")
    return comb(c, k) / comb(n, k)


def episode_cost(tokens: Mapping[str, Any], prices: Prices) -> float:
    return (float(tokens.get("prompt", 0)) * prices.prompt_per_m
            + float(tokens.get("completion", 0)) * prices.completion_per_m) / 1e6


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def by_task(results: Sequence[Mapping[str, Any]]) -> Dict[str, List[Mapping[str, Any]]]:
    out: Dict[str, List[Mapping[str, Any]]] = defaultdict(list)
    for r in results:
        out[r["task_id"]].append(r)
    return dict(out)


def bootstrap_ci(groups: Sequence[Sequence[float]], stat_samples: int = 1000, alpha: float = 0.05,
                 seed: int = 0) -> Tuple[float, float]:
    """Percentile CI of the mean over all values, resampling groups (tasks) with replacement."""
    if not groups:
        return (0.0, 0.0)
    rng = random.Random(seed)
    sums = [(sum(g), len(g)) for g in groups]
    stats = []
    for _ in range(stat_samples):
        s = n = 0.0
        for _ in range(len(sums)):
            a, b = sums[rng.randrange(len(sums))]
            s += a
            n += b
        stats.append(s / n if n else 0.0)
    stats.sort()
    lo = stats[int(alpha / 2 * (stat_samples - 1))]
    hi = stats[int((1 - alpha / 2) * (stat_samples - 1))]
    return (lo, hi)


def summarize(results: Sequence[Mapping[str, Any]], prices: Optional[Prices] = None,
              ks: Sequence[int] = (1,), bootstrap: int = 1000, seed: int = 0) -> Dict[str, Any]:
    """Headline numbers of a set of episode results (any subset: all, one category, one app)."""
    prices = prices or Prices()
    tasks = by_task(results)
    n_trials = min((len(v) for v in tasks.values()), default=0)
    out: Dict[str, Any] = {"tasks": len(tasks), "episodes": len(results)}
    succ = [1.0 if r["success"] else 0.0 for r in results]
    out["success_rate"] = _mean(succ)
    for key in ("r", "r1", "r2", "r3", "r4"):
        out[f"mean_{key}"] = _mean([float(r["reward"][key]) for r in results])
    out["mean_turns"] = _mean([float(r.get("turns", 0)) for r in results])
    out["mean_calls"] = _mean([float(r.get("calls", 0)) for r in results])
    out["mean_prompt_tokens"] = _mean([float(r.get("tokens", {}).get("prompt", 0)) for r in results])
    out["mean_completion_tokens"] = _mean([float(r.get("tokens", {}).get("completion", 0)) for r in results])
    costs = [episode_cost(r.get("tokens", {}), prices) for r in results]
    out["cost_per_task_usd"] = _mean(costs)
    out["cost_total_usd"] = sum(costs)
    for k in ks:
        if 1 <= k <= n_trials:
            at = [pass_at_k(len(v), sum(1 for r in v if r["success"]), k) for v in tasks.values()]
            hat = [pass_hat_k(len(v), sum(1 for r in v if r["success"]), k) for v in tasks.values()]
            out[f"pass@{k}"] = _mean(at)
            out[f"pass^{k}"] = _mean(hat)
    if bootstrap > 0 and tasks:
        groups_s = [[1.0 if r["success"] else 0.0 for r in v] for v in tasks.values()]
        groups_r = [[float(r["reward"]["r"]) for r in v] for v in tasks.values()]
        out["success_rate_ci95"] = list(bootstrap_ci(groups_s, bootstrap, seed=seed))
        out["mean_r_ci95"] = list(bootstrap_ci(groups_r, bootstrap, seed=seed + 1))
    return out


def breakdown(results: Sequence[Mapping[str, Any]], key: str, prices: Optional[Prices] = None,
              ks: Sequence[int] = (1,), bootstrap: int = 0) -> Dict[str, Dict[str, Any]]:
    """summarize() per value of `key` ("category", or "apps" where each app of a task counts)."""
    groups: Dict[str, List[Mapping[str, Any]]] = defaultdict(list)
    for r in results:
        values = r.get(key) or []
        for v in (values if isinstance(values, list) else [values]):
            groups[str(v)].append(r)
    return {g: summarize(v, prices, ks, bootstrap) for g, v in sorted(groups.items())}


PAIRED_METRICS = ("success_rate", "mean_r", "mean_r1", "mean_r2", "mean_r3", "mean_r4")


def _task_value(rows: Sequence[Mapping[str, Any]], metric: str) -> float:
    """One task's value of a metric: the mean over its trials."""
    if metric == "success_rate":
        return _mean([1.0 if r["success"] else 0.0 for r in rows])
    return _mean([float(r["reward"][metric[len("mean_"):]]) for r in rows])


def paired_bootstrap(before: Sequence[float], after: Sequence[float], samples: int = 2000,
                     alpha: float = 0.05, seed: int = 0) -> Dict[str, Any]:
    """Mean of after[i] − before[i] with a percentile CI from resampling the pairs i (tasks).

    Pairing removes the between-task variance both models share (easy tasks are easy for both),
    so the interval is the one that answers "did the second model improve on these tasks"."""
    if len(before) != len(after):
        raise ValueError(f"paired_bootstrap: {len(before)} values before, {len(after)} after")
    if not before:
        raise ValueError("paired_bootstrap: no pairs")
    diffs = [b - a for a, b in zip(before, after)]
    n = len(diffs)
    rng = random.Random(seed)
    stats = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    lo = stats[int(alpha / 2 * (samples - 1))]
    hi = stats[int((1 - alpha / 2) * (samples - 1))]
    return {"before": _mean(list(before)), "after": _mean(list(after)), "delta": _mean(diffs),
            "ci": [lo, hi], "confidence": 1 - alpha, "n": n,
            "better": sum(1 for d in diffs if d > 0), "worse": sum(1 for d in diffs if d < 0),
            "same": sum(1 for d in diffs if d == 0),
            # the interval excludes zero: the change is significant at level alpha
            "significant": lo > 0 or hi < 0}


def paired_comparison(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]],
                      metrics: Sequence[str] = PAIRED_METRICS, samples: int = 2000, alpha: float = 0.05,
                      seed: int = 0) -> Dict[str, Any]:
    """after − before per metric over the tasks both result sets hold (episode results as in
    `summarize`; several trials of a task are averaged first, so every task weighs the same).
    Tasks present in only one set are counted in `unpaired` and left out."""
    a, b = by_task(before), by_task(after)
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("paired_comparison: the two result sets share no task")
    out: Dict[str, Any] = {"tasks": len(common), "unpaired": len(set(a) ^ set(b)), "samples": samples,
                           "alpha": alpha}
    for i, m in enumerate(metrics):
        if m not in PAIRED_METRICS:
            raise ValueError(f"paired_comparison: unknown metric '{m}' (one of {', '.join(PAIRED_METRICS)})")
        out[m] = paired_bootstrap([_task_value(a[t], m) for t in common], [_task_value(b[t], m) for t in common],
                                  samples, alpha, seed + i)
    return out
