"""The adaptation report: drift table, then success and mean reward of the source run's model on
the old surface (its eval_trained: the baseline), on the changed surface (before adaptation) and
of the adapted model there (after), per category and split by whether a task's gold actions use a
changed tool — each cell with its counts. Writes report.json and report.md."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

EVALS = ("baseline", "before", "after")


def read_results(items_jsonl: Path) -> List[Dict[str, Any]]:
    """Episode results of an evaluation stage (items.jsonl: one record per shard)."""
    out: List[Dict[str, Any]] = []
    for line in items_jsonl.read_text().splitlines():
        if line.strip():
            out.extend(json.loads(line)["record"]["results"])
    return out


def cell(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    n = len(results)
    ok = sum(1 for r in results if r["success"])
    return {"n": n, "success": ok, "success_rate": ok / n if n else None,
            "mean_reward": sum(float(r["reward"]["r"]) for r in results) / n if n else None}


def groups(results: List[Dict[str, Any]], tasks: Dict[str, Dict[str, Any]], changed_old: set) -> Dict[str, List]:
    """all / per category / tasks whose gold actions use a changed tool vs the others."""
    g: Dict[str, List[Dict[str, Any]]] = {"all": list(results)}
    for r in results:
        g.setdefault(f"category:{r['category']}", []).append(r)
        gold = {a["tool"] for a in tasks[r["task_id"]].get("gold_actions") or []}
        g.setdefault("uses changed tools" if gold & changed_old else "unaffected tasks", []).append(r)
    return g


def compare(evals: Dict[str, List[Dict[str, Any]]], tasks: Dict[str, Dict[str, Any]], changed_old: set
            ) -> Dict[str, Dict[str, Any]]:
    table: Dict[str, Dict[str, Any]] = {}
    by_eval = {k: groups(v, tasks, changed_old) for k, v in evals.items()}
    keys = sorted({k for g in by_eval.values() for k in g}, key=lambda k: (k != "all", not k.startswith("uses"),
                                                                            k.startswith("category:"), k))
    for key in keys:
        row = {name: cell(by_eval[name].get(key, [])) for name in evals}
        base, b, a = (row[n]["success_rate"] for n in EVALS)
        row["drop"] = None if base is None or b is None else base - b
        row["recovered"] = None if a is None or b is None else a - b
        table[key] = row
    return table


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def markdown(rep: Dict[str, Any]) -> str:
    d = rep["drift"]
    lines = [f"# Environment-change adaptation: {rep['source_run']}", "",
             f"Change config `{rep['changes']}`: {d['tools_changed']} of {d['tools_total']} tools changed.", "",
             "## Drift detection", "", "| change | applied | detected | found | recall | precision |",
             "|---|---|---|---|---|---|"]
    for k, s in d["scores"].items():
        lines.append(f"| {k} | {s['expected']} | {s['detected']} | {s['found']} | {s['recall']:.2f} | {s['precision']:.2f} |")
    lines += ["", "## Success and mean reward",
              "", "baseline = the run's trained model on the old surface (its eval_trained); before = the same "
              "model on the changed surface; after = the adapted model on the changed surface.", "",
              "| tasks | n | baseline | before | after | drop | recovered | reward baseline | before | after |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for key, row in rep["table"].items():
        c = {n: row[n] for n in EVALS}
        lines.append(f"| {key} | {c['before']['n']} | {c['baseline']['success']}/{c['baseline']['n']} "
                     f"({_pct(c['baseline']['success_rate'])}) | {c['before']['success']}/{c['before']['n']} "
                     f"({_pct(c['before']['success_rate'])}) | {c['after']['success']}/{c['after']['n']} "
                     f"({_pct(c['after']['success_rate'])}) | {_pct(row['drop'])} | {_pct(row['recovered'])} | "
                     f"{_num(c['baseline']['mean_reward'])} | {_num(c['before']['mean_reward'])} | "
                     f"{_num(c['after']['mean_reward'])} |")
    f, t = rep["data"], rep["training"]
    lines += ["", "## Incremental data and training", "",
              f"- synthesized candidates {f['counts'].get('candidates')}, kept {f['counts'].get('selected')} "
              f"({f['trajectories_using_changed_tools']} use a changed tool; changed tools covered: "
              f"{len(f['changed_tools_covered'])})",
              f"- SFT rows: {f['incremental_rows']} incremental + {f['replay_rows']} replayed from the run's data "
              f"({f['replay_available']} of its trajectories still replay on the new surface) = {f['sft_rows']}",
              f"- training continued from the run's LoRA adapter: {t.get('steps')} steps, loss "
              f"{_num(t.get('first_loss'))} → {_num(t.get('last_loss'))}, {t.get('train_seconds')} s"]
    return "\n".join(lines) + "\n"


def build_report(inputs: Dict[str, Path], out_dir: Path) -> Dict[str, Any]:
    src_dir = inputs["source"]
    src = json.loads((src_dir / "source.json").read_text())
    drift = json.loads((inputs["drift"] / "drift.json").read_text())
    tasks = {t["id"]: t for t in (json.loads(x) for x in (src_dir / "tasks.jsonl").read_text().splitlines() if x.strip())}
    changed_old = {a["tool"] for a in drift["applied"]}
    evals = {"baseline": read_results(src_dir / "baseline.jsonl"),
             "before": read_results(inputs["eval_before"] / "items.jsonl"),
             "after": read_results(inputs["eval_after"] / "items.jsonl")}
    rep = {"source_run": src["run_dir"], "changes": src["changes"],
           "drift": {k: drift[k] for k in ("tools_changed", "tools_total", "scores")},
           "changed_tools": drift["applied"], "table": compare(evals, tasks, changed_old),
           "data": json.loads((inputs["filter"] / "filter.json").read_text()),
           "training": json.loads((inputs["sft"] / "train.json").read_text())}
    (out_dir / "report.json").write_text(json.dumps(rep, indent=1, sort_keys=True))
    (out_dir / "report.md").write_text(markdown(rep))
    return {k: rep["table"]["all"][k] for k in ("drop", "recovered")}
