"""Collect what a pipeline run produced into one report document (a JSON-able dict), then write it.

Sources (all read from the run folder, nothing recomputed from scratch):
  stages/*/manifest.json       time, attempts, backend, jobs per stage (time and cost tables)
  pipeline.yaml                the resources each stage asked for (GPU/CPU-hours)
  filter/stats.json, filter.json   data-quality statistics of synthesis + filtering
  sft/metrics.jsonl, train.json    training curve (loss, learning rate, grad norm)
  eval_*/items.jsonl           episode results of each evaluated model (shard records)
Metrics per model come from `elab_hpc.eval.metrics` / `elab_hpc.eval.errors`, the same code
`elab-hpc eval` uses, so the numbers agree with a standalone evaluation.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from elab_hpc.errors import ConfigError

DEFAULT_PRICES = {"gpu_hour_usd": 2.5, "cpu_core_hour_usd": 0.05,
                  "api": {"gpt-4o": {"prompt_per_m": 2.5, "completion_per_m": 10.0}}}


def _read_json(p: Path) -> Optional[Any]:
    return json.loads(p.read_text()) if p.is_file() else None


def episode_results(stage_out: Path) -> List[Dict[str, Any]]:
    """Episode results of an evaluation array stage (its merged items.jsonl)."""
    rows = [json.loads(x) for x in (stage_out / "items.jsonl").read_text().splitlines() if x.strip()]
    return [r for row in sorted(rows, key=lambda r: r["item"]) for r in row["record"]["results"]]


def model_summary(results: List[Mapping[str, Any]], bootstrap: int = 1000) -> Dict[str, Any]:
    from elab_hpc.eval.errors import analyze
    from elab_hpc.eval.metrics import breakdown, summarize

    first_ok = [bool(r["actions"]) and bool(r["gold_tools"]) and r["actions"][0]["tool"] == r["gold_tools"][0]
                for r in results]
    return {"overall": summarize(results, None, [1], bootstrap),
            "per_category": breakdown(results, "category"), "per_app": breakdown(results, "apps"),
            "errors": analyze(results),
            "tool_selection": {"mean_r1_lcs": sum(float(r["reward"]["r1"]) for r in results) / max(len(results), 1),
                               "first_tool_accuracy": sum(first_ok) / max(len(results), 1)}}


def stage_rows(run_dir: Path) -> List[Dict[str, Any]]:
    snap = yaml.safe_load((run_dir / "pipeline.yaml").read_text()) if (run_dir / "pipeline.yaml").is_file() else {}
    cluster = snap.get("cluster") or {}
    rows = []
    for name, spec in (snap.get("stages") or {}).items():
        m = _read_json(run_dir / "stages" / name / "manifest.json") or {}
        res = {**cluster, **(spec.get("resources") or {})}
        t = m.get("timings") or {}
        jobs = max(len(m.get("job_ids") or []), 1)
        nodes = int(res.get("nodes", 1)) if spec.get("kind") == "multinode" else 1
        wall = float(t.get("wall_s") or 0.0)
        busy = float(t.get("job_s") or t.get("fn_s") or 0.0)
        rows.append({"stage": name, "kind": spec.get("kind", "single"), "status": m.get("status", "pending"),
                     "backend": m.get("backend", ""), "jobs": len(m.get("job_ids") or []),
                     "attempts": m.get("attempts", 0), "wall_s": round(wall, 1), "job_s": round(busy, 1),
                     "gpu_hours": round(busy * jobs * nodes * int(res.get("gpus_per_node", 0)) / 3600, 4),
                     "cpu_core_hours": round(busy * jobs * nodes * int(res.get("cpus_per_task", 1)) / 3600, 4)})
    return rows


def cost_table(stages: List[Dict[str, Any]], evals: Dict[str, Dict[str, Any]], eval_stage: Dict[str, str],
               prices: Mapping[str, Any]) -> Dict[str, Any]:
    """$ per 1M tokens served: self-hosted (the evaluation stage's compute / its tokens) next to
    API prices for the same prompt/completion mix."""
    by_stage = {s["stage"]: s for s in stages}
    rows = []
    for label, summ in evals.items():
        o = summ["overall"]
        prompt, completion = o["mean_prompt_tokens"] * o["episodes"], o["mean_completion_tokens"] * o["episodes"]
        tokens = prompt + completion
        st = by_stage.get(eval_stage.get(label, ""), {})
        usd = st.get("gpu_hours", 0) * prices["gpu_hour_usd"] + (
            st.get("cpu_core_hours", 0) * prices["cpu_core_hour_usd"] if not st.get("gpu_hours") else 0)
        row = {"model": label, "tokens": int(tokens), "compute_usd": round(usd, 4),
               "self_hosted_usd_per_m": round(usd / tokens * 1e6, 4) if tokens else None}
        for api, p in (prices.get("api") or {}).items():
            row[f"{api}_usd_per_m"] = round((prompt * p["prompt_per_m"] + completion * p["completion_per_m"]) / tokens, 4) \
                if tokens else None
        rows.append(row)
    return {"prices": dict(prices), "rows": rows}


def _prices(params: Mapping[str, Any]) -> Dict[str, Any]:
    p = {**DEFAULT_PRICES, **dict(params.get("prices") or {})}
    for key in ("gpu_hour_usd", "cpu_core_hour_usd"):
        if not isinstance(p[key], (int, float)) or p[key] < 0:
            raise ConfigError(f"report params.prices.{key}: must be a number >= 0, got {p[key]!r}")
    for api, v in (p.get("api") or {}).items():
        if not isinstance(v, Mapping) or set(v) != {"prompt_per_m", "completion_per_m"}:
            raise ConfigError(f"report params.prices.api.{api}: needs exactly prompt_per_m and completion_per_m")
    return p


def comparisons(results: Mapping[str, List[Mapping[str, Any]]], params: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """Paired after − before comparisons (bootstrap over tasks, both models together): the pairs
    in params.comparisons ([[before, after], ...]), else each evaluated model against the one
    listed before it (base → trained, trained → grpo)."""
    from elab_hpc.eval.metrics import paired_comparison

    labels = list(results)
    pairs = params.get("comparisons")
    if pairs is None:
        pairs = [[labels[i - 1], labels[i]] for i in range(1, len(labels))]
    out = []
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or any(p not in results for p in pair):
            raise ConfigError(f"report params.comparisons: {pair!r} is not a pair of evaluated models "
                              f"({', '.join(labels)})")
        cmp = paired_comparison(results[pair[0]], results[pair[1]], samples=int(params.get("bootstrap", 1000)) * 2)
        out.append({"before": pair[0], "after": pair[1], **cmp})
    return out


def collect(run_dir: Path, inputs: Mapping[str, Path], params: Mapping[str, Any]) -> Dict[str, Any]:
    evals_spec = dict(params.get("evals") or {"base": "eval_base", "trained": "eval_trained"})
    for label, stage in evals_spec.items():
        if stage not in inputs:
            raise ConfigError(f"report params.evals.{label}: '{stage}' is not among the stage's inputs")
    data: Dict[str, Any] = {"run_dir": str(run_dir), "title": params.get("title", f"Run report — {run_dir.name}")}
    if "filter" in inputs:
        data["data"] = {"synth": _read_json(inputs["filter"] / "stats.json"),
                        "filter": _read_json(inputs["filter"] / "filter.json")}
    if "testset" in inputs:
        data["testset"] = _read_json(inputs["testset"] / "testset.json")
    if "sft" in inputs:
        metrics = [json.loads(x) for x in (inputs["sft"] / "metrics.jsonl").read_text().splitlines() if x.strip()] \
            if (inputs["sft"] / "metrics.jsonl").is_file() else []
        data["training"] = {"summary": _read_json(inputs["sft"] / "train.json"), "curve": metrics}
    results = {label: episode_results(inputs[stage]) for label, stage in evals_spec.items()}
    data["evals"] = {label: model_summary(rows, int(params.get("bootstrap", 1000))) for label, rows in results.items()}
    data["comparisons"] = comparisons(results, params)
    data["stages"] = stage_rows(run_dir)
    data["cost"] = cost_table(data["stages"], data["evals"], evals_spec, _prices(params))
    labels = list(evals_spec)
    if len(labels) >= 2:
        a, b = data["evals"][labels[0]]["overall"], data["evals"][labels[-1]]["overall"]
        data["headline"] = {"before": labels[0], "after": labels[-1], "success_before": a["success_rate"],
                            "success_after": b["success_rate"], "delta": b["success_rate"] - a["success_rate"],
                            "tasks": a["tasks"]}
    return data


def build_report(run_dir: Path, inputs: Mapping[str, Path], out_dir: Path, params: Mapping[str, Any]) -> Dict[str, Any]:
    """Write report.json, report.md, report.html (plots embedded) into out_dir; returns the headline."""
    from elab_hpc.report.render import write_all

    data = collect(Path(run_dir), inputs, params)
    write_all(data, Path(out_dir))
    return {"headline": data.get("headline"),
            "success": {k: v["overall"]["success_rate"] for k, v in data["evals"].items()}}
