"""Validation and filtering of synthesized trajectories.

- `exact_dedup`: one candidate per (normalized intent, tool sequence).
- `fuzzy_dedup`: drops an intent whose rapidfuzz ratio to an earlier kept one is >= threshold.
  Comparing all pairs of 100K intents is 5e9 comparisons, so candidates are blocked first by
  MinHash LSH over character 3-grams (numpy, deterministic); only intents that share an LSH
  bucket are compared, with `rapidfuzz.process.cdist` inside the bucket.
- `mmr_select`: Maximal Marginal Relevance over TF-IDF vectors of intent words + tool names,
  relevance = `quality_score`. The max-similarity-to-selected vector is updated incrementally
  through an inverted index (cost per pick = postings of the picked item's features).
- `schema_errors`: every call's canonical arguments validate against the tool's canonical schema.
- `ground`: re-executes the gold actions in a fresh episode; every call must behave as recorded,
  every check must pass and the final state hash must match.
- `Exclusions`: the evaluation test split (intents and gold-action signatures) never reaches training.
"""
from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np

from elab_hpc.errors import UserError

_NON_WORD = re.compile(r"[^a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+")


# --------------------------------------------------------------------------- exact de-duplication

def normalize_text(text: str) -> str:
    """Lower case, punctuation and runs of white space collapsed to one space."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def exact_key(intent: str, tools: Sequence[str]) -> str:
    return normalize_text(intent) + "\x1f" + "\x1e".join(tools)


def exact_dedup(keys: Sequence[str]) -> List[int]:
    """Indices of the first occurrence of each key, in input order."""
    seen: Set[str] = set()
    keep = []
    for i, k in enumerate(keys):
        if k not in seen:
            seen.add(k)
            keep.append(i)
    return keep


# --------------------------------------------------------------------------- fuzzy de-duplication

_MULT = np.uint64(0x100000001B3)


def _shingles(texts: Sequence[str], q: int = 3) -> Tuple[np.ndarray, np.ndarray]:
    """Character q-grams of all texts as uint64 codes (vectorized), and each text's start offset.
    Character grams survive scattered typos that break most words."""
    padded = [t if len(t) >= q else t.ljust(q) for t in texts]
    lens = np.fromiter((len(t) for t in padded), dtype=np.int64, count=len(padded))
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    total = len(codes) - q + 1
    gram = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(q):
            gram = gram * _MULT + codes[k:k + total]
    ends = np.cumsum(lens)
    valid = np.ones(total, dtype=bool)
    for k in range(1, q):  # grams starting in a text's last q-1 chars run into the next text
        idx = ends - k
        valid[idx[idx < total]] = False
    starts = np.concatenate([[0], np.cumsum(lens - q + 1)[:-1]]).astype(np.int64)
    return gram[valid], starts


def minhash_signatures(texts: Sequence[str], num_perm: int = 48, seed: int = 1) -> np.ndarray:
    """(len(texts), num_perm) MinHash signatures of character 3-gram sets by one-permutation
    hashing: each gram is hashed once, the hash picks one of `num_perm` bins, and a bin keeps
    its minimum (one sort instead of `num_perm` passes). A bin no gram fell into gets a value
    unique to its text, so it never makes two texts collide."""
    grams, starts = _shingles(texts)
    n = len(texts)
    text_of = np.repeat(np.arange(n, dtype=np.uint64), np.diff(np.append(starts, len(grams))))
    rng = np.random.default_rng(seed)
    a = np.uint64(int(rng.integers(1, 2**63)) | 1)
    with np.errstate(over="ignore"):
        h = grams * a
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    bins = (h >> np.uint64(32)) % np.uint64(num_perm)
    vals = h & np.uint64(0xFFFFFFFF)
    slot = text_of * np.uint64(num_perm) + bins
    packed = np.sort((slot << np.uint64(32)) | vals)
    slot_sorted = packed >> np.uint64(32)
    first = np.ones(len(packed), dtype=bool)
    first[1:] = slot_sorted[1:] != slot_sorted[:-1]
    sig = (np.uint64(1) << np.uint64(40)) + np.arange(n * num_perm, dtype=np.uint64)  # "empty" values
    sig[slot_sorted[first].astype(np.int64)] = packed[first] & np.uint64(0xFFFFFFFF)
    return sig.reshape(n, num_perm)


def band_keys(sig: np.ndarray, bands: int) -> np.ndarray:
    """(n, bands) bucket keys: item i and j are LSH candidates when some column agrees."""
    n, num_perm = sig.shape
    rows = num_perm // bands
    mult = np.random.default_rng(7).integers(1, 2**63, size=rows, dtype=np.uint64) | np.uint64(1)
    keys = np.empty((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            keys[:, b] = (sig[:, b * rows:(b + 1) * rows] * mult).sum(axis=1)
    return keys


def fuzzy_dedup(texts: Sequence[str], threshold: float = 0.9, order: Optional[Sequence[int]] = None,
                num_perm: int = 48, bands: int = 16) -> List[int]:
    """Indices kept, in `order` (default: input order). An item is dropped when an item kept
    before it has rapidfuzz ratio >= threshold (texts compared after `normalize_text`).

    Only LSH candidates are compared: kept items that share a band bucket with the item. Items
    with ratio >= 0.9 share most word bigrams, so they collide in some band with high probability
    (benchmarks/synth_bench.py measures the recall against all pairs on a sample)."""
    from rapidfuzz import fuzz, process

    norm = [normalize_text(t) for t in texts]
    if not norm:
        return []
    keys = band_keys(minhash_signatures(norm, num_perm), bands).tolist()
    cutoff = threshold * 100.0
    buckets: List[Dict[int, List[str]]] = [{} for _ in range(bands)]
    out: List[int] = []
    for i in (range(len(norm)) if order is None else order):
        row, text = keys[i], norm[i]
        # compare bucket by bucket inside rapidfuzz (no Python-side union); stop at the first match
        if any(process.extractOne(text, got, scorer=fuzz.ratio, score_cutoff=cutoff) is not None
               for got in (buckets[b].get(row[b]) for b in range(bands)) if got):
            continue
        out.append(i)
        for b in range(bands):
            buckets[b].setdefault(row[b], []).append(text)
    return out


# --------------------------------------------------------------------------- diversity (MMR)

def mmr_features(intent: str, tools: Sequence[str]) -> List[str]:
    """What two tasks are compared on: intent words, tool names and apps."""
    return (_TOKEN.findall(intent.lower()) + [f"tool:{t}" for t in tools]
            + [f"app:{t.split('.', 1)[0]}" for t in tools])


class TfidfRows:
    """L2-normalized TF-IDF vectors (sublinear tf, smoothed idf) stored as CSR rows."""

    def __init__(self, docs: Sequence[Sequence[str]]):
        vocab: Dict[str, int] = {}
        ids: List[int] = []
        lens = np.empty(len(docs), dtype=np.int64)
        for i, doc in enumerate(docs):
            lens[i] = len(doc)
            ids.extend(vocab.setdefault(f, len(vocab)) for f in doc)
        n, v = len(docs), max(len(vocab), 1)
        doc_of = np.repeat(np.arange(n, dtype=np.int64), lens)
        pairs, tf = np.unique(doc_of * v + np.asarray(ids, dtype=np.int64), return_counts=True)
        items, feats = pairs // v, pairs % v  # sorted by item, then feature
        df = np.bincount(feats, minlength=v)
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        w = (1.0 + np.log(tf)) * idf[feats]
        norms = np.sqrt(np.bincount(items, weights=w * w, minlength=n))
        self.n, self.vocab_size = n, v
        self.feat = feats
        self.w = (w / np.where(norms[items] > 0, norms[items], 1.0)).astype(np.float32)
        self.start = np.searchsorted(items, np.arange(n + 1))

    def row(self, i: int) -> Tuple[np.ndarray, np.ndarray]:
        return self.feat[self.start[i]:self.start[i + 1]], self.w[self.start[i]:self.start[i + 1]]


def mmr_select(docs: Sequence[Sequence[str]], relevance: Sequence[float], k: int,
               lam: float = 0.7) -> List[int]:
    """Greedy MMR: k times, pick argmax lam*rel - (1-lam)*max cosine to the picked ones.

    Lazy evaluation: an item's score only falls as picks accumulate, so a heap of possibly stale
    scores (upper bounds) is popped; an item is re-scored only against the picks made since its
    last scoring, and picked when its score is current. Returns indices in pick order."""
    import heapq

    n = len(docs)
    k = min(k, n)
    if k <= 0:
        return []
    rows = TfidfRows(docs)
    rel = np.asarray(relevance, dtype=np.float64)
    max_sim = np.zeros(n)
    stamp = np.zeros(n, dtype=np.int64)  # picks already accounted for in max_sim[i]
    heap = [(-lam * rel[i], i) for i in range(n)]
    heapq.heapify(heap)
    buf = np.zeros(rows.vocab_size, dtype=np.float32)  # dense copy of the row being scored
    picked: List[int] = []
    sel_feat: List[np.ndarray] = []
    sel_w: List[np.ndarray] = []
    sel_start = [0]  # row boundaries of the picks, concatenated in pick order
    cat_feat = np.zeros(0, dtype=np.int64)
    cat_w = np.zeros(0, dtype=np.float32)
    while len(picked) < k:
        _, i = heapq.heappop(heap)
        if stamp[i] == len(picked):
            picked.append(i)
            f, w = rows.row(i)
            sel_feat.append(f)
            sel_w.append(w)
            sel_start.append(sel_start[-1] + len(f))
            continue
        if len(sel_feat) > 0:  # fold the new picks into the contiguous arrays
            cat_feat = np.concatenate([cat_feat] + sel_feat)
            cat_w = np.concatenate([cat_w] + sel_w)
            sel_feat, sel_w = [], []
        f, w = rows.row(i)
        buf[f] = w
        lo, hi = sel_start[stamp[i]], sel_start[len(picked)]
        prod = buf[cat_feat[lo:hi]] * cat_w[lo:hi]
        offs = np.asarray(sel_start[stamp[i]:len(picked)], dtype=np.int64) - lo
        nonempty = offs < len(prod)
        if nonempty.any():
            max_sim[i] = max(max_sim[i], float(np.add.reduceat(prod, offs[nonempty]).max()))
        buf[f] = 0.0
        stamp[i] = len(picked)
        heapq.heappush(heap, (-(lam * rel[i] - (1.0 - lam) * max_sim[i]), i))
    return picked


def quality_score(n_steps: int, has_chain: bool, n_apps: int, n_state_checks: int) -> float:
    """Relevance for MMR, in [0, 1]: longer, chained, cross-app tasks with state checks first."""
    return (0.35 * min(n_steps, 4) / 4 + 0.3 * float(has_chain) + 0.2 * min(n_apps, 3) / 3
            + 0.15 * min(n_state_checks, 3) / 3)


# --------------------------------------------------------------------------- schema compliance

class SchemaChecker:
    """Validates canonical arguments against each action's canonical input schema (validators cached)."""

    def __init__(self, registry: Any):
        self.registry = registry
        self._validators: Dict[str, Any] = {}

    def errors(self, tool: str, args: Dict[str, Any]) -> List[str]:
        import jsonschema

        if tool not in self.registry:
            return [f"{tool}: unknown tool"]
        v = self._validators.get(tool)
        if v is None:
            schema = self.registry[tool].input_schema
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            v = self._validators[tool] = cls(schema)
        return [f"{tool}: {'/'.join(map(str, e.absolute_path)) or '(args)'}: {e.message}"
                for e in v.iter_errors(args)]

    def trajectory_errors(self, actions: Iterable[Dict[str, Any]]) -> List[str]:
        out: List[str] = []
        for a in actions:
            out += self.errors(a["tool"], a["args"])
        return out


# --------------------------------------------------------------------------- grounding

class FreshEpisodes:
    """Fresh episode states from one open episode, reset (`Episode.reset`) after each use:
    the same state a new episode has, without handing connections back and forth.
    `world` is anything with `.episode()` (an `arena.Arena` or its world)."""

    def __init__(self, world: Any):
        self.world = world
        self._ep: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[Any]:
        if self._ep is None:
            self._ep = self.world.episode()
        ep = self._ep
        try:
            yield ep
        finally:
            ep.reset()

    def close(self) -> None:
        if self._ep is not None:
            self._ep.close()
            self._ep = None


@dataclass
class Grounding:
    ok: bool
    reasons: List[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_total: int = 0
    state_hash: str = ""


def ground(fresh: FreshEpisodes, registry: Any, actions: Sequence[Dict[str, Any]], checks: List[Dict[str, Any]],
           answer: str, final_state_hash: str) -> Grounding:
    """Replay `actions` ({tool, args, ok}) in a fresh episode: each call must succeed or fail as
    recorded, every check must pass on the resulting state and answer, the state hash must match."""
    from elab_hpc.env.checks import CheckError, run_checks

    reasons: List[str] = []
    with fresh() as ep:
        for i, a in enumerate(actions):
            obs = ep.call(a["tool"], registry[a["tool"]].to_native(a["args"]))
            if bool(obs.ok) != bool(a.get("ok", True)):
                reasons.append(f"step {i} {a['tool']}: recorded ok={a.get('ok', True)}, replay ok={obs.ok}")
        try:
            results = run_checks(checks, ep, answer)
        except CheckError as exc:
            results = []
            reasons.append(f"malformed check: {exc}")
        failed = [r for r in results if not r["passed"]]
        for r in failed[:3]:
            reasons.append(f"check {r['check'].get('type')} failed: {r['detail']}")
        state = ep.state_hash()
    if state != final_state_hash:
        reasons.append("final state hash differs from the recorded one")
    return Grounding(ok=not reasons, reasons=reasons, checks_passed=len(results) - len(failed),
                     checks_total=len(checks), state_hash=state)


# --------------------------------------------------------------------------- test-split exclusion

def action_signature(actions: Iterable[Dict[str, Any]]) -> str:
    """Order-sensitive signature of gold actions: tools and canonical args (keys sorted)."""
    return json.dumps([[a["tool"], a.get("args") or {}] for a in actions], sort_keys=True, default=str)


@dataclass
class Exclusions:
    """Intents and gold-action signatures that must not appear in training data (the eval test split).

    File: JSONL, one task per line with `intent` and/or `gold_actions` ([{tool, args}]); a line that
    is not JSON is taken as an intent."""

    intents: Set[str] = field(default_factory=set)
    signatures: Set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Optional[str | Path]) -> "Exclusions":
        ex = cls()
        if not path:
            return ex
        p = Path(path)
        if not p.is_file():
            raise UserError(f"exclude_tasks: file not found: {p}")
        for n, line in enumerate(p.read_text().splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError:
                item = line
            if isinstance(item, str):
                ex.intents.add(normalize_text(item))
                continue
            if not isinstance(item, dict) or not ("intent" in item or "gold_actions" in item):
                raise UserError(f"exclude_tasks: {p}:{n}: need an object with 'intent' and/or 'gold_actions'")
            if item.get("intent"):
                ex.intents.add(normalize_text(str(item["intent"])))
            gold = item.get("gold_actions")
            if gold:
                if not isinstance(gold, list) or not all(isinstance(a, dict) and "tool" in a for a in gold):
                    raise UserError(f"exclude_tasks: {p}:{n}: 'gold_actions' must be a list of {{tool, args}}")
                ex.signatures.add(action_signature(gold))
        return ex

    def __len__(self) -> int:
        return len(self.intents) + len(self.signatures)

    def matches(self, intent: str, gold_actions: Sequence[Dict[str, Any]]) -> bool:
        return normalize_text(intent) in self.intents or action_signature(gold_actions) in self.signatures
