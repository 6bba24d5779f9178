"""Evaluation reports: report.md (tables) and report.html (self-contained: the same tables and
PNG plots embedded as base64 data URIs — success by category, mean r1..r4 by category, error
taxonomy). Also writes the PNGs next to them (plots/) for slides."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from elab_hpc.eval.errors import CLASSES

CATEGORY_ORDER = ("crud", "search_orchestration", "multi_entity", "version_control", "cross_functional")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _ci(s: Mapping[str, Any], key: str) -> str:
    ci = s.get(key)
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> List[List[str]]:
    return [list(headers)] + [[_fmt(c) for c in r] for r in rows]


def _md(table: List[List[str]]) -> str:
    head, *body = table
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _html_table(table: List[List[str]]) -> str:
    head, *body = table
    h = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def _tables(summary: Mapping[str, Any]) -> Dict[str, List[List[str]]]:
    o = summary["overall"]
    passk = sorted(k for k in o if k.startswith("pass@") or k.startswith("pass^"))
    overall = _table(["metric", "value"], [
        ("tasks", o["tasks"]), ("episodes", o["episodes"]),
        ("success rate", f"{o['success_rate']:.3f}{_ci(o, 'success_rate_ci95')}"),
        ("mean reward r", f"{o['mean_r']:.3f}{_ci(o, 'mean_r_ci95')}"),
        *[(k, o[k]) for k in passk],
        ("mean r1 (tool selection)", o["mean_r1"]), ("mean r2 (execution)", o["mean_r2"]),
        ("mean r3 (correctness)", o["mean_r3"]), ("mean r4 (format)", o["mean_r4"]),
        ("mean turns", o["mean_turns"]), ("mean tool calls", o["mean_calls"]),
        ("mean prompt tokens", o["mean_prompt_tokens"]), ("mean completion tokens", o["mean_completion_tokens"]),
        ("cost per task (USD)", f"{o['cost_per_task_usd']:.6f}")])
    cats = [c for c in CATEGORY_ORDER if c in summary["per_category"]] + \
        [c for c in summary["per_category"] if c not in CATEGORY_ORDER]
    per_cat = _table(["category", "tasks", "success", "r", "r1", "r2", "r3", "r4", "turns"],
                     [(c, s["tasks"], s["success_rate"], s["mean_r"], s["mean_r1"], s["mean_r2"], s["mean_r3"],
                       s["mean_r4"], s["mean_turns"]) for c, s in ((c, summary["per_category"][c]) for c in cats)])
    per_app = _table(["app", "tasks", "success", "r", "r1", "r2", "r3"],
                     [(a, s["tasks"], s["success_rate"], s["mean_r"], s["mean_r1"], s["mean_r2"], s["mean_r3"])
                      for a, s in summary["per_app"].items()])
    e = summary["errors"]
    errors = _table(["failure class", "count", "share"], [(c, e["counts"][c], e["shares"][c]) for c in CLASSES])
    examples = _table(["class", "task", "detail"],
                      [(c, x["task_id"], x["detail"]) for c in CLASSES for x in e["examples"][c]])
    return {"overall": overall, "per_category": per_cat, "per_app": per_app, "errors": errors, "examples": examples}


def _plots(summary: Mapping[str, Any]) -> Dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: Dict[str, bytes] = {}
    cats = [c for c in CATEGORY_ORDER if c in summary["per_category"]]

    def save(fig: Any, name: str) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        out[name] = buf.getvalue()

    fig, ax = plt.subplots(figsize=(7, 3.5))
    vals = [summary["per_category"][c]["success_rate"] for c in cats]
    ax.bar([c.replace("_", "\n") for c in cats], vals, color="#4c72b0")
    ax.set_ylim(0, 1)
    ax.set_ylabel("success rate")
    ax.set_title(f"Success by category — {summary['model']}")
    for i, v in enumerate(vals):
        ax.text(i, v + 0.02, f"{v:.2f}", ha="center", fontsize=8)
    save(fig, "success_by_category.png")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    comps = ["r1", "r2", "r3", "r4"]
    width = 0.8 / (len(cats) + 1)
    groups = [("overall", summary["overall"])] + [(c, summary["per_category"][c]) for c in cats]
    for j, (label, s) in enumerate(groups):
        ax.bar([i + j * width for i in range(len(comps))], [s[f"mean_{k}"] for k in comps], width, label=label)
    ax.set_xticks([i + width * len(groups) / 2 - width / 2 for i in range(len(comps))])
    ax.set_xticklabels(["r1 tool sel.", "r2 execution", "r3 correctness", "r4 format"])
    ax.set_ylim(0, 1.05)
    ax.set_title("Reward components (mean)")
    ax.legend(fontsize=7, ncol=3)
    save(fig, "rewards.png")

    fig, ax = plt.subplots(figsize=(7, 3.2))
    counts = summary["errors"]["counts"]
    ax.barh([c.replace("_", " ") for c in CLASSES][::-1], [counts[c] for c in CLASSES][::-1], color="#dd8452")
    ax.set_xlabel("failed episodes")
    ax.set_title(f"Error taxonomy ({summary['errors']['failed']} failed episodes)")
    save(fig, "error_taxonomy.png")
    return out


def write_reports(out_dir: Path, summary: Mapping[str, Any], episodes: Sequence[Mapping[str, Any]]) -> Dict[str, Path]:
    from elab_hpc.hpc.core.atomic import atomic_write_with

    out_dir = Path(out_dir)
    tables = _tables(summary)
    plots = _plots(summary)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    for name, png in plots.items():
        atomic_write_with(out_dir / "plots" / name, lambda f, png=png: f.write(png))
    title = f"Evaluation: {summary['model']} on {summary['tasks']} ({summary['trials']} trial(s))"
    md = [f"# {title}", "",
          "Success = every check of the task passes on the episode's final state and answer.", "",
          "## Overall", _md(tables["overall"]), "", "## Per category", _md(tables["per_category"]), "",
          "## Per app", _md(tables["per_app"]), "", "## Error analysis (failed episodes)", _md(tables["errors"]), "",
          "### Examples", _md(tables["examples"]), "",
          "Plots: plots/success_by_category.png, plots/rewards.png, plots/error_taxonomy.png", ""]
    if summary.get("agent"):
        a = summary["agent"]
        md.insert(2, f"Agent: scaffold={a['scaffold']} max_turns={a['max_turns']} "
                     f"max_new_tokens={a['backend']['max_new_tokens']} temperature={a['backend']['temperature']}\n")
    md_text = "\n".join(md)
    imgs = "".join(f'<figure><img alt="{n}" src="data:image/png;base64,{base64.b64encode(p).decode()}"/>'
                   f"<figcaption>{html.escape(n)}</figcaption></figure>" for n, p in plots.items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:0.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}
th{{background:#f2f2f2}}figure{{display:inline-block;margin:0.5em}}</style></head><body>
<h1>{html.escape(title)}</h1><p>Success = every check of the task passes on the episode's final state and answer.</p>
{imgs}<h2>Overall</h2>{_html_table(tables['overall'])}<h2>Per category</h2>{_html_table(tables['per_category'])}
<h2>Per app</h2>{_html_table(tables['per_app'])}<h2>Error analysis</h2>{_html_table(tables['errors'])}
<h3>Examples</h3>{_html_table(tables['examples'])}</body></html>"""
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html"}
    atomic_write_with(paths["markdown"], lambda f: f.write(md_text.encode()))
    atomic_write_with(paths["html"], lambda f: f.write(page.encode()))
    paths["results"] = out_dir / "results.json"
    return paths
