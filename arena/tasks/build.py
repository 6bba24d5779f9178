"""Regenerate the task suite deterministically: `python -m arena.tasks.build [--pool N] [--synth N]`.

1. Hand-written families (arena/tasks/handwritten/) run in fresh episodes; each instance is kept
   only if its checks pass after the gold solution and fail on the untouched state.
2. The synthesis sampler (elab_hpc.synth) draws a pool of executed, grounded trajectories from the
   seed-0 world (gold actions executed, checks derived from the state diff, checks passed there);
   each is replayed in a FRESH episode (the oracle's condition) and dropped if it does not pass.
3. From the pool, tasks are picked per category so the whole suite (hand-written included) follows
   the published mix; within a category, tasks with 2–8 calls come first, then by id hash.
4. Writes data/synth.jsonl, data/handwritten.jsonl, data/test_signatures.jsonl, data/manifest.json.

The same code and seed give the same files (no clock, no unordered iteration in the choice).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from arena.tasks.suite import (CATEGORIES, DATA_DIR, MANIFEST_FILE, SIGNATURES_FILE, TARGET_MIX, category_mix,
                               split_of, write_test_signatures)

SEED = 0
SCALE = "small"


def _hash(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


STATE_CHECKS = ("row_exists", "row_absent", "row_count", "field_equals", "probe")


def verifies_writes(registry: Any, task: Dict[str, Any]) -> bool:
    """A task that changes state must have at least one check over the state."""
    from elab_hpc.synth.categories import READ_OPS

    writes = any(registry[a["tool"]].op not in READ_OPS for a in task["gold_actions"])
    return not writes or any(c["type"] in STATE_CHECKS for c in task["checks"])


def order_sensitive(task: Dict[str, Any]) -> bool:
    """A row check comparing a JSON object stored as text (a document body): an agent that writes
    the same object with its keys in another order would fail it."""
    for c in task["checks"]:
        values = list((c.get("where") or {}).values()) + ([c.get("value")] if c["type"] == "field_equals" else [])
        if any(isinstance(v, str) and v.lstrip().startswith("{") for v in values):
            return True
    return False


def replay_ok(arena: Any, registry: Any, task: Dict[str, Any]) -> bool:
    """Gold actions in a fresh episode: every call succeeds and every check passes; on the untouched
    state with an empty answer at least one check fails (the checks verify something); and the gold
    actions without their last state-changing call fail a check (the final write is verified)."""
    from elab_hpc.env.checks import run_checks

    with arena.episode() as ep:
        untouched = run_checks(task["checks"], ep, "", call=lambda t, a: ep.call(t, a))
    if all(r["passed"] for r in untouched):
        return False
    def play(actions: List[Dict[str, Any]], answer: str) -> bool | None:
        with arena.episode() as ep:
            for a in actions:
                if not ep.call(a["tool"], registry[a["tool"]].to_native(a["args"])).ok:
                    return None
            res = run_checks(task["checks"], ep, answer, call=lambda t, a: ep.call(t, a))
        return all(r["passed"] for r in res)

    if not play(task["gold_actions"], task["answer"]):
        return False
    # the last state-changing call must matter: without it (and without an answer) a check fails
    from elab_hpc.synth.categories import READ_OPS

    gold = task["gold_actions"]
    writes = [i for i, a in enumerate(gold) if registry[a["tool"]].op not in READ_OPS]
    if writes:
        rest = [a for i, a in enumerate(gold) if i != writes[-1]]
        if play(rest, "") is not False:
            return False
    return True


def pick(pool: List[Dict[str, Any]], quotas: Dict[str, int]) -> List[Dict[str, Any]]:
    """Per category: 2–8-call tasks first (the typical size), then the rest; by id hash within."""
    out = []
    seen_intents = set()
    for cat in CATEGORIES:
        cands = sorted((t for t in pool if t["category"] == cat),
                       key=lambda t: (not 2 <= len(t["gold_actions"]) <= 8, _hash(t["id"])))
        got = 0
        for t in cands:
            if got >= quotas.get(cat, 0):
                break
            key = " ".join(t["intent"].lower().split())
            if key in seen_intents:
                continue
            seen_intents.add(key)
            out.append(t)
            got += 1
    return out


def build(pool_size: int = 2400, synth_total: int = 480, data_dir: Path = DATA_DIR, show: bool = True
          ) -> Dict[str, Any]:
    from rich.progress import Progress

    from elab_hpc.synth.config import SamplerConfig
    from elab_hpc.synth.sampler import Sampler, load_context
    from arena import Arena
    from arena.tasks.handwritten import build_handwritten

    t0 = time.perf_counter()
    ctx = load_context(seed=SEED, scale=SCALE, exclude_tools=SamplerConfig().exclude_tools)
    arena = Arena(seed=SEED, scale=SCALE)
    with Progress(disable=not show, transient=True) as progress:
        bar = progress.add_task("hand-written tasks", total=None)
        hand, problems = build_handwritten(arena, ctx.registry, progress=lambda n: progress.advance(bar, n))
        bar = progress.add_task("sampling the synthesis pool", total=pool_size)
        sampler = Sampler(ctx, SamplerConfig(), source="arena-suite")
        pool = []
        for traj in sampler.run(pool_size, seed=SEED):
            d = traj.task.to_dict()
            d.pop("split", None)
            d["source"] = "synth"
            pool.append(d)
            progress.advance(bar)
        sampler.close()
        total = len(hand) + synth_total
        have = Counter(t["category"] for t in hand)
        quotas = {c: max(0, round(total * TARGET_MIX[c]) - have[c]) for c in CATEGORIES}
        chosen = pick(pool, {c: 3 * q + 60 for c, q in quotas.items()})  # spares for rejected ones
        bar = progress.add_task("replaying picks in fresh episodes", total=len(chosen))
        kept: List[Dict[str, Any]] = []
        got = Counter()
        for t in chosen:
            progress.advance(bar)
            if got[t["category"]] >= quotas[t["category"]]:
                continue
            if verifies_writes(ctx.registry, t) and not order_sensitive(t) and replay_ok(arena, ctx.registry, t):
                kept.append(t)
                got[t["category"]] += 1
            else:
                problems.append(f"synth {t['id']}: unverified write, key-order-sensitive or vacuous checks, "
                                f"or no fresh replay; dropped")
    kept.sort(key=lambda t: t["id"])
    hand.sort(key=lambda t: t["id"])
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("synth.jsonl", kept), ("handwritten.jsonl", hand)):
        # key order kept: arguments like document bodies are stored as written
        (data_dir / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    every = kept + hand
    test = sorted((t for t in every if split_of(t["id"]) == "test"), key=lambda t: t["id"])
    write_test_signatures(test, data_dir / SIGNATURES_FILE.name)
    calls = [len(t["gold_actions"]) for t in every]
    with arena.episode() as ep:
        world_hash = ep.state_hash()
    manifest = {
        "world_state_hash": world_hash, "seed": SEED, "scale": SCALE, "pool": len(pool), "tasks": len(every), "synth": len(kept),
        "handwritten": len(hand), "handwritten_families": len({t["id"].rsplit("-", 1)[0] for t in hand}),
        "splits": dict(Counter(split_of(t["id"]) for t in every)),
        "category_mix": {c: round(v, 4) for c, v in category_mix(every).items()},
        "target_mix": TARGET_MIX,
        "calls_per_task": {"min": min(calls), "max": max(calls), "mean": round(sum(calls) / len(calls), 2),
                           "share_2_to_8": round(sum(1 for c in calls if 2 <= c <= 8) / len(calls), 3)},
        "apps_per_task": dict(Counter(len(t["apps"]) for t in every)),
        "problems": problems,
    }
    (data_dir / MANIFEST_FILE.name).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    manifest["build_s"] = round(time.perf_counter() - t0, 1)
    return manifest


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", type=int, default=2400, help="synthesized trajectories to draw from (default 2400)")
    ap.add_argument("--synth", type=int, default=480, help="synthesized tasks in the suite (default 480)")
    ap.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default arena/tasks/data)")
    a = ap.parse_args(argv)
    m = build(a.pool, a.synth, a.out)
    print(json.dumps({k: v for k, v in m.items() if k != "problems"}, indent=1))
    print(f"{len(m['problems'])} problem(s)" + ("".join(f"\n  {p}" for p in m["problems"][:20])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
