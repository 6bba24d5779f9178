"""Sharded evaluation: shards → episodes → results → aggregate → report.

    run_eval(cfg)                      # all shards (inline or as one array job), aggregate, report
    run_shard(cfg, shard, num_shards)  # one shard: what `elab-hpc eval shard` and array tasks run
    aggregate(cfg)                     # results.json from the stored episodes

Layout of `out_dir`:
  run.json                        the config and its fingerprint (a different config refuses this folder)
  episodes/<task>.t<trial>.json   one result per (task, trial), written atomically as soon as it is
                                  done: a requeued or rerun shard skips what is there
  cache/                          the agent runner's episode cache (full logs: messages, actions, ...)
  logs/<task>.t<trial>.json       full episode logs of the oracle (models: see cache/)
  shards/shard-<i>-of-<n>.jsonl   each shard's results, written atomically when the shard finishes
  results.json, report.md, report.html

Success = every check of the task passed on the final state and answer. Rewards r1..r4 come from
elab_hpc.eval.rewards; failed episodes are classified by elab_hpc.eval.errors.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from elab_hpc.errors import UserError
from elab_hpc.eval.config import EvalConfig, fingerprint, model_kind
from elab_hpc.eval.errors import analyze, classify
from elab_hpc.eval.metrics import breakdown, summarize
from elab_hpc.eval.rewards import compute_reward
from elab_hpc.eval.tasks import load_judge, resolve, shard_of


def select_tasks(cfg: EvalConfig) -> tuple:
    """(source, tasks) the config selects: filters, then `per_category` (first N by id of each)."""
    source, selector = resolve(cfg.tasks)
    tasks = source.load(selector, cfg.categories, cfg.apps, 0 if cfg.per_category else cfg.limit)
    if cfg.per_category:
        seen: Dict[str, int] = {}
        picked = []
        for t in sorted(tasks, key=lambda t: str(t["id"])):
            c = t.get("category", "")
            if seen.get(c, 0) < cfg.per_category:
                seen[c] = seen.get(c, 0) + 1
                picked.append(t)
        tasks = picked[:cfg.limit] if cfg.limit else picked
    return source, tasks


def _atomic_json(path: Path, obj: Any) -> None:
    from elab_hpc.hpc.core.atomic import atomic_write_with

    path.parent.mkdir(parents=True, exist_ok=True)
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    atomic_write_with(path, lambda f: f.write(blob))


def _safe(task_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", task_id)


class EpisodeStore:
    """One JSON file per (task, trial) result; presence means done."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, task_id: str, trial: int) -> Path:
        return self.root / f"{_safe(task_id)}.t{trial}.json"

    def has(self, task_id: str, trial: int) -> bool:
        return self.path(task_id, trial).is_file()

    def get(self, task_id: str, trial: int) -> Optional[Dict[str, Any]]:
        p = self.path(task_id, trial)
        if not p.is_file():
            return None
        try:
            return json.loads(p.read_text())
        except ValueError:
            return None  # a torn file cannot happen (atomic writes); a hand-edited one is redone

    def put(self, result: Dict[str, Any]) -> None:
        _atomic_json(self.path(result["task_id"], result["trial"]), result)


def _short_error(err: Any) -> Dict[str, str]:
    if not isinstance(err, dict):
        return {"code": "", "message": str(err)[:160]}
    return {"code": str(err.get("code", "")), "message": str(err.get("message", ""))[:160]}


def episode_result(task: Dict[str, Any], log: Dict[str, Any], checks: List[Dict[str, Any]], trial: int,
                   cfg: EvalConfig, judge_score: Optional[float] = None) -> Dict[str, Any]:
    """The per-episode record metrics, error analysis and reports read (no full messages)."""
    reward = compute_reward(task, log, checks, cfg.rewards)
    actions = [{"tool": a.get("tool"), "args": a.get("args"), "ok": bool(a.get("ok")),
                **({} if a.get("ok") else {"error": _short_error(a.get("error"))})}
               for a in log.get("actions") or []]
    tokens = log.get("tokens") or {}
    res = {
        "task_id": task["id"], "trial": trial, "intent": task["intent"], "category": task.get("category", ""),
        "apps": list(task.get("apps") or []), "source": task.get("source", ""),
        "success": bool(checks) and all(c["passed"] for c in checks),
        "reward": reward.to_dict(), "checks_passed": sum(1 for c in checks if c["passed"]),
        "checks_total": len(checks),
        "failed_checks": [{"type": c["check"].get("type"), "detail": c["detail"]} for c in checks if not c["passed"]][:5],
        "turns": int(log.get("turns") or 0), "calls": len(actions), "format_errors": int(log.get("format_errors") or 0),
        "stop_reason": log.get("stop_reason", ""), "tokens": {"prompt": int(tokens.get("prompt", 0)),
                                                               "completion": int(tokens.get("completion", 0))},
        "gold_tools": [a["tool"] for a in task.get("gold_actions") or []], "actions": actions,
        "answer": (log.get("answer") or "")[:500], "time_s": round(float((log.get("timings") or {}).get("total_s", 0)), 4),
    }
    if judge_score is not None:
        res["judge_score"] = judge_score
    if not res["success"]:
        res["error_class"] = classify(res)
    return res


# --------------------------------------------------------------------------- one shard

def _prepare_out(cfg: EvalConfig) -> Path:
    out = Path(cfg.out_dir)
    meta = out / "run.json"
    fp = fingerprint(cfg)
    if meta.is_file():
        old = json.loads(meta.read_text()).get("fingerprint")
        if old != fp:
            raise UserError(f"out_dir {out} holds a run with another model/task/agent config "
                            f"(fingerprint {old}, this one {fp}); pick another out_dir or name=")
    else:
        _atomic_json(meta, {"fingerprint": fp, "config": asdict(cfg)})
    return out


def run_shard(cfg: EvalConfig, shard: int = 0, num_shards: int = 1, show: bool = True) -> Dict[str, Any]:
    """Run the episodes of one shard that are not stored yet; write the shard's results file."""
    out = _prepare_out(cfg)
    source, tasks = select_tasks(cfg)
    tasks = shard_of(tasks, shard, num_shards)
    store = EpisodeStore(out / "episodes")
    todo = [(t, k) for t in tasks for k in range(cfg.trials) if not store.has(t["id"], k)]
    judge = load_judge(cfg.judge)
    t0 = time.perf_counter()
    if todo:
        # check_eval allows a surface only for the arena source, whose env() takes it
        env = source.env(cfg.seed, cfg.scale, surface=cfg.surface) if cfg.surface else source.env(cfg.seed, cfg.scale)
        if model_kind(cfg.model) == "oracle":
            _run_oracle(cfg, source, env, todo, store, out, judge, show)
        else:
            _run_model(cfg, source, env, todo, store, out, judge, show)
    results = [store.get(t["id"], k) for t in tasks for k in range(cfg.trials)]
    missing = sum(1 for r in results if r is None)
    if missing:
        raise UserError(f"shard {shard}: {missing} episode(s) produced no result")
    path = out / "shards" / f"shard-{shard:04d}-of-{num_shards:04d}.jsonl"
    from elab_hpc.hpc.core.atomic import atomic_write_with

    path.parent.mkdir(parents=True, exist_ok=True)
    blob = "".join(json.dumps(r, sort_keys=True) + "\n" for r in results).encode()
    atomic_write_with(path, lambda f: f.write(blob))
    return {"shard": shard, "num_shards": num_shards, "tasks": len(tasks), "episodes": len(results),
            "ran": len(todo), "reused": len(results) - len(todo), "seconds": round(time.perf_counter() - t0, 2),
            "file": str(path)}


def _run_oracle(cfg, source, env, todo, store, out, judge, show) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from elab_hpc.eval.oracle import oracle_log

    with Progress(TextColumn("oracle episodes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not show, transient=True) as bar:
        tid = bar.add_task("oracle", total=len(todo))
        for task, trial in todo:
            session = env.open(task, task.get("apps") or [])
            try:
                log = oracle_log(task, session)
                checks = source.check(task, session, log["answer"])
            finally:
                session.close()
            _atomic_json(out / "logs" / f"{_safe(task['id'])}.t{trial}.json", log)
            score = judge(task, log["answer"], log) if judge else None
            store.put(episode_result(task, log, checks, trial, cfg, score))
            bar.advance(tid)


def _run_model(cfg, source, env, todo, store, out, judge, show) -> None:
    from elab_hpc.agent.backends import make_backend
    from elab_hpc.agent.cache import EpisodeCache
    from elab_hpc.agent.runner import Runner

    by_id = {t["id"]: t for t, _ in todo}

    def on_finish(log: Any, session: Any) -> None:
        # checks run on the episode's own final state, before the environment closes
        log.extra["checks"] = source.check(by_id[log.task_id], session, log.answer or "")

    backend = make_backend(cfg.agent.backend)
    runner = Runner(backend, cfg.agent, env, cache=EpisodeCache(out / "cache"), on_finish=on_finish, progress=show)
    trials = sorted({k for _, k in todo})
    tasks = list(by_id.values())
    logs = runner.run(tasks, seeds=trials)
    wanted = {(t["id"], k) for t, k in todo}
    for log in logs:
        if (log.task_id, log.seed) not in wanted:
            continue
        d = log.to_dict()
        task = by_id[log.task_id]
        score = judge(task, log.answer or "", d) if judge else None
        store.put(episode_result(task, d, list(log.extra.get("checks") or []), log.seed, cfg, score))


# --------------------------------------------------------------------------- all shards

def shard_job(cfg_dict: Dict[str, Any], shard: int, num_shards: int) -> Dict[str, Any]:
    """Array-task entry point (pickled by submitit): rebuild the config, run the shard."""
    from elab_hpc.config import build_config, to_object
    from elab_hpc.eval.config import check_eval

    cfg: EvalConfig = to_object(build_config(EvalConfig, cfg_dict))
    check_eval(cfg)
    return run_shard(cfg, shard, num_shards, show=False)


def run_shards(cfg: EvalConfig, show: bool = True) -> List[Dict[str, Any]]:
    _prepare_out(cfg)
    n = cfg.shards
    if cfg.cluster == "inline":
        return [run_shard(cfg, s, n, show) for s in range(n)]
    from elab_hpc.hpc.auto.executor import make_executor
    from elab_hpc.hpc.core.executor import wait

    ex = make_executor(cfg.cluster, folder=Path(cfg.out_dir).resolve() / "jobs")
    data = asdict(cfg)
    jobs = ex.map_array(shard_job, [data] * n, list(range(n)), [n] * n)
    return wait(jobs, poll_s=0.5, timeout_s=cfg.wait_timeout_s or None, description=f"eval shards ({n})", show=show)


def aggregate(cfg: EvalConfig) -> Dict[str, Any]:
    """results.json from the stored episodes of every selected task (all must be present)."""
    out = Path(cfg.out_dir)
    _, tasks = select_tasks(cfg)
    store = EpisodeStore(out / "episodes")
    results, missing = [], []
    for t in tasks:
        for k in range(cfg.trials):
            r = store.get(t["id"], k)
            (results.append(r) if r is not None else missing.append(f"{t['id']}#{k}"))
    if missing:
        raise UserError(f"{len(missing)} of {len(tasks) * cfg.trials} episodes missing in {out}/episodes "
                        f"(e.g. {', '.join(missing[:3])}); run the missing shards first")
    ks = [k for k in cfg.ks if k <= cfg.trials]
    summary = {
        "model": cfg.model, "tasks": cfg.tasks, "trials": cfg.trials, "shards": cfg.shards,
        "fingerprint": fingerprint(cfg), "rewards": asdict(cfg.rewards), "prices": asdict(cfg.prices),
        "agent": asdict(cfg.agent) if model_kind(cfg.model) != "oracle" else None,
        "overall": summarize(results, cfg.prices, ks, cfg.bootstrap),
        "per_category": breakdown(results, "category", cfg.prices, ks),
        "per_app": breakdown(results, "apps", cfg.prices, ks),
        "errors": analyze(results),
    }
    if any("judge_score" in r for r in results):
        scores = [r["judge_score"] for r in results if "judge_score" in r]
        summary["judge_mean"] = sum(scores) / len(scores)
    _atomic_json(out / "results.json", {"summary": summary, "episodes": results})
    return {"summary": summary, "episodes": results}


def run_eval(cfg: EvalConfig, show: bool = True) -> Dict[str, Any]:
    """Shards, aggregation and the reports; returns {summary, episodes, shards, paths}."""
    from elab_hpc.eval.report import write_reports

    shards = run_shards(cfg, show)
    agg = aggregate(cfg)
    paths = write_reports(Path(cfg.out_dir), agg["summary"], agg["episodes"])
    agg["shards"] = shards
    agg["paths"] = {k: str(v) for k, v in paths.items()}
    return agg
