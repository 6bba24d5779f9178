"""The run report as files: report.json (everything), report.md (tables), report.html (one
self-contained page: tables + PNG plots as base64 data URIs, no scripts, no external resources),
plus plots/*.png."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from elab_hpc.hpc.core.atomic import atomic_write_text, atomic_write_with

Table = Tuple[List[str], List[List[Any]]]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "-" if v is None else str(v)


def tables(d: Mapping[str, Any]) -> List[Tuple[str, Table]]:
    out: List[Tuple[str, Table]] = []
    labels = list(d["evals"])
    if d.get("headline"):
        h = d["headline"]
        out.append(("Headline", (["", "tasks", f"success {h['before']}", f"success {h['after']}", "delta"],
                                 [["test-split success", h["tasks"], h["success_before"], h["success_after"], h["delta"]]])))
    metrics = [("success rate", "success_rate"), ("mean reward r", "mean_r"), ("r1 tool selection", "mean_r1"),
               ("r2 execution", "mean_r2"), ("r3 correctness", "mean_r3"), ("r4 format", "mean_r4"),
               ("mean turns", "mean_turns"), ("mean tool calls", "mean_calls")]
    out.append(("Evaluation before / after", (["metric", *labels],
                [[name, *[d["evals"][l]["overall"].get(k) for l in labels]] for name, k in metrics]
                + [["first tool correct", *[d["evals"][l]["tool_selection"]["first_tool_accuracy"] for l in labels]]])))
    paired = [("success rate", "success_rate"), ("mean reward r", "mean_r")]
    rows = []
    for c in d.get("comparisons") or []:
        for name, k in paired:
            m = c[k]
            rows.append([f"{c['after']} − {c['before']}", name, m["n"], m["before"], m["after"], m["delta"],
                         f"[{m['ci'][0]:+.3f}, {m['ci'][1]:+.3f}]", f"{m['better']}/{m['worse']}/{m['same']}",
                         "yes" if m["significant"] else "no (CI includes 0)"])
    if rows:
        out.append(("Paired comparison (bootstrap over tasks, 95% CI)",
                    (["comparison", "metric", "tasks", "before", "after", "delta", "95% CI of delta",
                      "tasks better/worse/same", "significant"], rows)))
    for key, title in (("per_category", "Success per category"), ("per_app", "Success per app")):
        groups = sorted({g for l in labels for g in d["evals"][l][key]})
        out.append((title, ([key.split("_")[1], "tasks", *labels],
                            [[g, max(d["evals"][l][key].get(g, {}).get("tasks", 0) for l in labels),
                              *[d["evals"][l][key].get(g, {}).get("success_rate") for l in labels]] for g in groups])))
    classes = list(next(iter(d["evals"].values()))["errors"]["counts"])
    out.append(("Error taxonomy (failed episodes)", (["class", *labels],
                [[c, *[d["evals"][l]["errors"]["counts"][c] for l in labels]] for c in classes])))
    data = d.get("data") or {}
    if data.get("synth"):
        s = data["synth"]
        rows = [[k, v] for k, v in s["counts"].items()] + [["validation pass rate", s.get("validation_pass_rate")]]
        rows += [[f"SFT rows ({k})", v] for k, v in (data.get("filter") or {}).items() if k.startswith("sft")]
        out.append(("Data quality (synthesis → filters)", (["step", "count"], rows)))
    tr = (d.get("training") or {}).get("summary")
    if tr:
        out.append(("Training", (["key", "value"], [[k, v] for k, v in tr.items()])))
    out.append(("Time and compute per stage", (["stage", "kind", "status", "backend", "jobs", "attempts", "wall s",
                                               "job s", "GPU-hours", "CPU core-hours"],
               [[s["stage"], s["kind"], s["status"], s["backend"], s["jobs"], s["attempts"], s["wall_s"], s["job_s"],
                 s["gpu_hours"], s["cpu_core_hours"]] for s in d["stages"]])))
    c = d["cost"]
    keys = [k for k in (c["rows"][0] if c["rows"] else {}) if k != "model"]
    out.append(("Cost ($ per 1M tokens: self-hosted compute vs API prices)",
                (["model", *keys], [[r["model"], *[r[k] for k in keys]] for r in c["rows"]])))
    return out


def plots(d: Mapping[str, Any]) -> Dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: Dict[str, bytes] = {}

    def save(name: str, draw: Callable[[Any], None], size: Tuple[float, float] = (7, 3.4)) -> None:
        fig, ax = plt.subplots(figsize=size)
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        out[name] = buf.getvalue()

    labels = list(d["evals"])
    curve = (d.get("training") or {}).get("curve") or []
    pts = [(m["step"], m["loss"]) for m in curve if "loss" in m]
    if pts:
        def loss(ax: Any) -> None:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", color="#4c72b0")
            ax.set_xlabel("step")
            ax.set_ylabel("training loss")
            ax.set_title("SFT loss")
        save("training_loss.png", loss)

    def grouped(key: str, title: str) -> Callable[[Any], None]:
        def draw(ax: Any) -> None:
            groups = sorted({g for l in labels for g in d["evals"][l][key]})
            w = 0.8 / max(len(labels), 1)
            for j, l in enumerate(labels):
                ax.bar([i + j * w for i in range(len(groups))],
                       [d["evals"][l][key].get(g, {}).get("success_rate", 0.0) for g in groups], w, label=l)
            ax.set_xticks([i + w * (len(labels) - 1) / 2 for i in range(len(groups))])
            ax.set_xticklabels([g.replace("_", "\n") for g in groups], fontsize=8)
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("success rate")
            ax.set_title(title)
            ax.legend(fontsize=8)
        return draw

    save("success_by_category.png", grouped("per_category", "Success by category, before / after"))
    save("success_by_app.png", grouped("per_app", "Success by app, before / after"))

    def rewards(ax: Any) -> None:
        comps = ["r1", "r2", "r3", "r4", "r"]
        w = 0.8 / max(len(labels), 1)
        for j, l in enumerate(labels):
            ax.bar([i + j * w for i in range(len(comps))], [d["evals"][l]["overall"][f"mean_{k}"] for k in comps],
                   w, label=l)
        ax.set_xticks([i + w * (len(labels) - 1) / 2 for i in range(len(comps))])
        ax.set_xticklabels(["r1 tool sel.", "r2 execution", "r3 correctness", "r4 format", "r total"])
        ax.set_ylim(0, 1.05)
        ax.set_title("Reward components (mean), before / after")
        ax.legend(fontsize=8)
    save("reward_components.png", rewards)

    def errors(ax: Any) -> None:
        classes = list(d["evals"][labels[0]]["errors"]["counts"])
        h = 0.8 / max(len(labels), 1)
        for j, l in enumerate(labels):
            ax.barh([i + j * h for i in range(len(classes))],
                    [d["evals"][l]["errors"]["counts"][c] for c in classes], h, label=l)
        ax.set_yticks([i + h * (len(labels) - 1) / 2 for i in range(len(classes))])
        ax.set_yticklabels([c.replace("_", " ") for c in classes], fontsize=8)
        ax.set_xlabel("failed episodes")
        ax.set_title("Error taxonomy")
        ax.legend(fontsize=8)
    save("error_taxonomy.png", errors)

    def stages(ax: Any) -> None:
        rows = d["stages"]
        ax.barh([r["stage"] for r in rows][::-1], [r["wall_s"] for r in rows][::-1], color="#55a868")
        ax.set_xlabel("wall seconds")
        ax.set_title("Time per stage")
    save("time_per_stage.png", stages)
    return out


def _md_table(t: Table) -> str:
    head, rows = t
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows])


def _html_table(t: Table) -> str:
    head, rows = t
    h = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    b = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{b}</tbody></table>"


def write_all(d: Mapping[str, Any], out_dir: Path) -> Dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    tabs = tables(d)
    pngs = plots(d)
    (out_dir / "plots").mkdir(exist_ok=True)
    for name, png in pngs.items():
        atomic_write_with(out_dir / "plots" / name, lambda f, png=png: f.write(png))
    title = str(d["title"])
    md = [f"# {title}", ""] + [f"## {name}\n\n{_md_table(t)}\n" for name, t in tabs]
    md += ["Plots: " + ", ".join(f"plots/{n}" for n in pngs), ""]
    figs = "".join(f'<figure><img alt="{html.escape(n)}" src="data:image/png;base64,{base64.b64encode(p).decode()}">'
                   f"<figcaption>{html.escape(n)}</figcaption></figure>" for n, p in pngs.items())
    body = "".join(f"<h2>{html.escape(name)}</h2>{_html_table(t)}" for name, t in tabs)
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            # an inline icon: without it browsers request /favicon.ico and log a failed load
            '<link rel="icon" href="data:,">'
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
            "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
            "font-size:13px}th{background:#f2f2f2}figure{display:inline-block;margin:.5em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{body}<h2>Plots</h2>{figs}</body></html>")
    paths = {"json": out_dir / "report.json", "markdown": out_dir / "report.md", "html": out_dir / "report.html"}
    atomic_write_text(paths["json"], json.dumps(d, indent=1, default=str))
    atomic_write_text(paths["markdown"], "\n".join(md))
    atomic_write_text(paths["html"], page)
    return paths


def summary_rows(d: Mapping[str, Any]) -> Sequence[Tuple[str, Table]]:
    """The tables a terminal summary shows (headline, before/after, time per stage)."""
    keep = ("Headline", "Evaluation before / after", "Paired comparison (bootstrap over tasks, 95% CI)",
            "Time and compute per stage")
    return [(n, t) for n, t in tables(d) if n in keep]
