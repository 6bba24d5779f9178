"""Quality report of a synthesized data set: diversity, coverage, complexity, correctness.

`quality_metrics(records)` computes the numbers; `write_report(out, records, stats)` writes
`report.md` and `plots/*.png` (matplotlib, Agg) and returns the metrics.

Self-BLEU: BLEU-4 (clipped n-gram precision, geometric mean, brevity penalty against the closest
reference length, +1 smoothing for n > 1) of each intent in a sample against a disjoint sample
of the other intents as references; the mean over the sample. Lower = more diverse.
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Sequence

from elab_hpc.hpc.core.atomic import atomic_write_text

_WORD = re.compile(r"\w+|[^\w\s]")


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(hypothesis: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """Sentence BLEU of `hypothesis` against `references` (token lists)."""
    if not hypothesis or not references:
        return 0.0
    max_ref: List[Counter] = []
    for n in range(1, max_n + 1):
        best: Counter = Counter()
        for ref in references:
            for g, c in _ngrams(ref, n).items():
                if c > best[g]:
                    best[g] = c
        max_ref.append(best)
    return _bleu_with(hypothesis, max_ref, [len(r) for r in references], max_n)


def _bleu_with(hyp: Sequence[str], max_ref: List[Counter], ref_lens: Sequence[int], max_n: int) -> float:
    log_p = 0.0
    for n in range(1, max_n + 1):
        grams = _ngrams(hyp, n)
        total = sum(grams.values())
        clipped = sum(min(c, max_ref[n - 1][g]) for g, c in grams.items())
        if n == 1:
            if clipped == 0:
                return 0.0
            log_p += math.log(clipped / total)
        else:  # +1 smoothing (Lin & Och) so short sentences do not score 0
            log_p += math.log((clipped + 1) / (total + 1))
    closest = min(ref_lens, key=lambda r: (abs(r - len(hyp)), r))
    bp = 1.0 if len(hyp) > closest else math.exp(1 - closest / max(len(hyp), 1))
    return bp * math.exp(log_p / max_n)


def self_bleu(texts: Sequence[str], sample: int = 300, references: int = 300, seed: int = 0) -> float:
    """Mean BLEU-4 of sampled texts against a disjoint sample of the others."""
    if len(texts) < 2:
        return 0.0
    rng = random.Random(seed)
    idx = list(range(len(texts)))
    rng.shuffle(idx)
    hyp_n = min(sample, len(idx) // 2)
    hyps = [texts[i] for i in idx[:hyp_n]]
    refs = [texts[i] for i in idx[hyp_n:hyp_n + references]]
    ref_tok = [_WORD.findall(r.lower()) for r in refs]
    max_ref: List[Counter] = []
    for n in range(1, 5):
        best: Counter = Counter()
        for ref in ref_tok:
            for g, c in _ngrams(ref, n).items():
                if c > best[g]:
                    best[g] = c
        max_ref.append(best)
    lens = [len(r) for r in ref_tok]
    scores = [_bleu_with(_WORD.findall(h.lower()), max_ref, lens, 4) for h in hyps]
    return sum(scores) / len(scores)


def quality_metrics(records: Sequence[Dict[str, Any]], seed: int = 0) -> Dict[str, Any]:
    from arena.core.registry import APP_DOMAINS

    n = len(records)
    turns = [len(r["actions"]) for r in records]
    tools = Counter(a["tool"] for r in records for a in r["actions"])
    domains_all = Counter(APP_DOMAINS.get(t.split(".", 1)[0], "other") for t in tools)
    primary = Counter(APP_DOMAINS.get(r["actions"][0]["tool"].split(".", 1)[0], "other") for r in records if r["actions"])
    categories = Counter(r["task"]["category"] for r in records)
    multi_turn = sum(1 for t in turns if t >= 2)
    chained = sum(1 for r in records if len({a["tool"] for a in r["actions"]}) >= 2
                  and any(a.get("uses") for a in r["actions"][1:]))
    schema_ok = sum(1 for r in records if (r.get("validation") or {}).get("schema_ok"))
    grounded = sum(1 for r in records if (r.get("validation") or {}).get("grounded"))
    mean = sum(turns) / n if n else 0.0
    std = math.sqrt(sum((t - mean) ** 2 for t in turns) / n) if n else 0.0
    share = (lambda k: round(k / n, 4) if n else 0.0)
    return {
        "trajectories": n,
        "self_bleu": round(self_bleu([r["task"]["intent"] for r in records], seed=seed), 4),
        "unique_tools": len(tools),
        "domains_covered": sorted(d for d in domains_all if d != "other"),
        "domain_distribution": {d: share(c) for d, c in primary.most_common()},
        "category_distribution": {c: share(k) for c, k in categories.most_common()},
        "turns_mean": round(mean, 3), "turns_std": round(std, 3),
        "multi_turn_share": share(multi_turn),
        "multi_tool_chain_share": share(chained),
        "schema_valid_share": share(schema_ok),
        "grounded_share": share(grounded),
        "top_tools": dict(tools.most_common(15)),
        "turns_histogram": dict(sorted(Counter(turns).items())),
    }


def _bar(path: Path, data: Dict[str, float], title: str, xlabel: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    keys = list(data)
    ax.barh(keys[::-1], [data[k] for k in keys][::-1], color="#4c72b0")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(out: Path, m: Dict[str, Any]) -> List[Path]:
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    files = [(plots / "domains.png", m["domain_distribution"], "Domain of the first call", "share"),
             (plots / "categories.png", m["category_distribution"], "Task category", "share"),
             (plots / "turns.png", {f"{k} call(s)": v for k, v in m["turns_histogram"].items()},
              "Tool calls per dialog", "trajectories"),
             (plots / "top_tools.png", m["top_tools"], "Most used tools", "calls")]
    for path, data, title, xlabel in files:
        _bar(path, data, title, xlabel)
    return [f[0] for f in files]


STAGES = ("candidates", "valid", "excluded_test_split", "after_exact_dedup", "after_fuzzy_dedup", "selected",
          "dpo_pairs")


def _table(d: Dict[str, Any]) -> str:
    return "\n".join(f"| {k} | {v} |" for k, v in d.items())


def write_report(out: str | Path, records: Sequence[Dict[str, Any]], stats: Dict[str, Any]) -> Dict[str, Any]:
    out = Path(out)
    m = quality_metrics(records)
    plots = write_plots(out, m)
    counts = stats.get("counts", {})
    lines = [
        "# Synthesized trajectories: quality report", "",
        f"{m['trajectories']} trajectories selected from {counts.get('candidates', '?')} executed candidates "
        f"({stats.get('shards', '?')} shard(s), {stats.get('chunks', '?')} chunks).", "",
        "## Filtering", "", "| stage | count |", "|---|---|", _table({k: counts[k] for k in STAGES if k in counts}), "",
        f"Rule-based validation pass rate (schema-valid and grounded by replay) over all candidates: "
        f"{stats.get('validation_pass_rate', 0):.1%}", "",
        "## Diversity", "",
        f"- Self-BLEU (BLEU-4 of intents vs. other intents, lower = more diverse): {m['self_bleu']:.3f}",
        f"- Unique tools used: {m['unique_tools']}",
        f"- Domains covered: {len(m['domains_covered'])} ({', '.join(m['domains_covered'])})", "",
        "| domain (first call) | share |", "|---|---|", _table(m["domain_distribution"]), "",
        "| category | share |", "|---|---|", _table(m["category_distribution"]), "",
        "## Complexity", "",
        f"- Tool calls per dialog: mean {m['turns_mean']:.2f}, std {m['turns_std']:.2f}",
        f"- Multi-turn (>= 2 tool calls): {m['multi_turn_share']:.1%}",
        f"- Multi-tool with dependency chains (a later call uses an earlier output): "
        f"{m['multi_tool_chain_share']:.1%}", "",
        "## Correctness", "",
        f"- Schema-valid (every call validates against its tool's schema): {m['schema_valid_share']:.1%}",
        f"- Grounded (replayed in a fresh episode: checks pass, same final state): {m['grounded_share']:.1%}", "",
        "## Plots", "",
    ] + [f"![{p.stem}](plots/{p.name})" for p in plots] + [""]
    atomic_write_text(out / "report.md", "\n".join(lines))
    return m
