"""Load, split and filter the EnterpriseArena task suite; keep the test split out of training data.

A task is a dict in the shape of `elab_hpc.synth.types.Task.to_dict()` plus `source`
("synth" | "handwritten") and `split` ("train" | "dev" | "test"):
`{id, intent, category, thoughts, gold_actions [{tool, args}], checks, apps, answer, source, split}`.

The split is a pure function of the task id (`split_of`), so it never moves when tasks are added
or rebuilt. `assert_disjoint(train_records, test_tasks)` fails when a training record repeats a
test task's intent or gold tool sequence; `write_test_signatures` exports those for synthesis
(`exclude_tasks=arena/tasks/data/test_signatures.jsonl`, read by `elab_hpc.synth.filters.Exclusions`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from elab_hpc.errors import UserError

DATA_DIR = Path(__file__).resolve().parent / "data"
SUITE_FILES = ("synth.jsonl", "handwritten.jsonl")
SIGNATURES_FILE = DATA_DIR / "test_signatures.jsonl"
MANIFEST_FILE = DATA_DIR / "manifest.json"
SPLITS = ("train", "dev", "test")
# share of ids per split: the published mix is over the whole suite; test gets a quarter
SPLIT_BOUNDS = (("train", 60), ("dev", 75), ("test", 100))
CATEGORIES = ("crud", "search_orchestration", "multi_entity", "version_control", "cross_functional")
TARGET_MIX = {"crud": 0.35, "search_orchestration": 0.28, "multi_entity": 0.18, "version_control": 0.12,
              "cross_functional": 0.07}


class SuiteError(UserError):
    """Bad suite selector or a broken suite file."""


def split_of(task_id: str) -> str:
    bucket = int(hashlib.sha1(task_id.encode()).hexdigest()[:8], 16) % 100
    for name, bound in SPLIT_BOUNDS:
        if bucket < bound:
            return name
    return "test"


def read_jsonl(path: Path) -> List[Dict[str, Any]]:
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as exc:
                    raise SuiteError(f"{path}:{n}: not JSON ({exc})") from None
    return out


def load_suite(split: Optional[str] = None, categories: Sequence[str] = (), apps: Sequence[str] = (),
               sources: Sequence[str] = (), limit: int = 0, data_dir: Path = DATA_DIR) -> List[Dict[str, Any]]:
    """Tasks of the suite, sorted by id; filters combine with AND (`apps`: touches any of them)."""
    if split not in (None, "all") and split not in SPLITS:
        raise SuiteError(f"split {split!r} is not one of {', '.join(SPLITS)} or 'all'")
    bad = [c for c in categories if c not in CATEGORIES]
    if bad:
        raise SuiteError(f"unknown category {bad[0]!r}; known: {', '.join(CATEGORIES)}")
    tasks: List[Dict[str, Any]] = []
    for name in SUITE_FILES:
        path = data_dir / name
        if not path.is_file():
            raise SuiteError(f"suite file missing: {path} (run `python -m arena.tasks.build`)")
        tasks.extend(read_jsonl(path))
    for t in tasks:
        t["split"] = split_of(t["id"])
    tasks = [t for t in tasks
             if (split in (None, "all") or t["split"] == split)
             and (not categories or t["category"] in categories)
             and (not apps or set(t.get("apps") or []) & set(apps))
             and (not sources or t.get("source") in sources)]
    tasks.sort(key=lambda t: t["id"])
    return tasks[:limit] if limit > 0 else tasks


def world_drift(arena: Any, data_dir: Path = DATA_DIR) -> Optional[str]:
    """Why the suite may not fit this arena world (its seed data changed since the build), or None."""
    manifest = json.loads((data_dir / MANIFEST_FILE.name).read_text())
    with arena.episode() as ep:
        now = ep.state_hash()
    if manifest.get("world_state_hash") not in (None, now):
        return (f"the task suite was built for arena world state {manifest['world_state_hash'][:12]}, this world is "
                f"{now[:12]} (seed data changed): rebuild it with `python -m arena.tasks.build`")
    return None


def category_mix(tasks: Iterable[Dict[str, Any]]) -> Dict[str, float]:
    tasks = list(tasks)
    n = max(len(tasks), 1)
    return {c: sum(1 for t in tasks if t["category"] == c) / n for c in CATEGORIES}


# --------------------------------------------------------------------------- test-split hygiene

def _norm(text: str) -> str:
    from elab_hpc.synth.filters import normalize_text

    return normalize_text(text)


def _tools_signature(actions: Iterable[Dict[str, Any]]) -> str:
    from elab_hpc.synth.filters import action_signature

    return action_signature(actions)


def signatures_of(test_tasks: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{"id": t["id"], "intent": t["intent"],
             "gold_actions": [{"tool": a["tool"], "args": a.get("args") or {}} for a in t["gold_actions"]]}
            for t in test_tasks]


def write_test_signatures(test_tasks: Iterable[Dict[str, Any]], path: Path = SIGNATURES_FILE) -> int:
    rows = signatures_of(test_tasks)
    from elab_hpc.hpc.core.atomic import atomic_write_with

    blob = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
    atomic_write_with(path, lambda f: f.write(blob))
    return len(rows)


def _record_parts(rec: Dict[str, Any]) -> tuple:
    """(intent, gold actions) of a training record (trajectory record or task dict)."""
    task = rec.get("task") if isinstance(rec.get("task"), dict) else rec
    actions = rec.get("actions") or task.get("gold_actions") or []
    return str(task.get("intent") or ""), [{"tool": a["tool"], "args": a.get("args") or {}} for a in actions]


def overlaps(train_records: Iterable[Dict[str, Any]], test_tasks: Iterable[Dict[str, Any]]) -> List[Dict[str, str]]:
    intents = {}
    sigs = {}
    for t in test_tasks:
        intents[_norm(t["intent"])] = t["id"]
        sigs[_tools_signature(t["gold_actions"])] = t["id"]
    out = []
    for rec in train_records:
        intent, actions = _record_parts(rec)
        hit = intents.get(_norm(intent)) or (sigs.get(_tools_signature(actions)) if actions else None)
        if hit:
            out.append({"record": str(rec.get("id")), "test_task": hit})
    return out


def assert_disjoint(train_records: Iterable[Dict[str, Any]], test_tasks: Iterable[Dict[str, Any]]) -> None:
    """Raise SuiteError naming the first overlaps if training data repeats a test task (same
    normalized intent or same gold tool+argument sequence)."""
    hits = overlaps(train_records, test_tasks)
    if hits:
        shown = ", ".join(f"{h['record']} = test {h['test_task']}" for h in hits[:5])
        raise SuiteError(f"{len(hits)} training record(s) repeat test tasks: {shown}")
