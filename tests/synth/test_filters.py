"""Filters on real sampled trajectories: dedup thresholds, LSH-blocked fuzzy dedup against all
pairs, MMR (diversity, and exactness of the lazy greedy against a brute-force one), schema
compliance, grounding by replay, test-split exclusion."""
from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from rapidfuzz import fuzz

from elab_hpc.errors import UserError
from elab_hpc.synth import filters
from elab_hpc.synth.config import SamplerConfig
from elab_hpc.synth.sampler import Sampler, load_context


@pytest.fixture(scope="module")
def ctx():
    return load_context(seed=0, scale="small")


@pytest.fixture(scope="module")
def trajectories(ctx):
    sampler = Sampler(ctx, SamplerConfig())
    out = list(sampler.run(40, seed=11))
    sampler.close()
    return out


def _pair_at_ratio(base: str, target: float, start: int) -> str:
    """`base` with characters from `start` on substituted until rapidfuzz ratio reaches `target`
    (the way composed intents differ: one quoted value changed)."""
    chars = list(base)
    for i in range(start, len(chars)):
        if fuzz.ratio(base, "".join(chars)) <= target * 100 + 1e-9:
            break
        chars[i] = "q" if chars[i] != "q" else "z"
    return "".join(chars)


def test_fuzzy_threshold_drops_at_089_keeps_at_091():
    base = "create an issue in project alpha titled login bugs"  # 50 chars: 5 substitutions = 0.90
    near = _pair_at_ratio(base, 0.90, start=base.index("login"))
    assert fuzz.ratio(base, near) == pytest.approx(90.0, abs=0.01)
    other = "list the open tickets of the help desk group second level"
    texts = [base, near, other]
    assert filters.fuzzy_dedup(texts, threshold=0.89) == [0, 2]
    assert filters.fuzzy_dedup(texts, threshold=0.91) == [0, 1, 2]
    # the order decides which one of a duplicate pair stays
    assert filters.fuzzy_dedup(texts, threshold=0.89, order=[1, 0, 2]) == [1, 2]


def test_exact_dedup_normalizes_intent_but_not_tools():
    keys = [filters.exact_key("Create the issue 'X'.", ["gitlab.create_issue"]),
            filters.exact_key("create the  issue X", ["gitlab.create_issue"]),
            filters.exact_key("Create the issue 'X'.", ["plane.create_issue"])]
    assert filters.exact_dedup(keys) == [0, 2]


def _brute_greedy(texts, threshold):
    norm = [filters.normalize_text(t) for t in texts]
    kept = []
    for i, t in enumerate(norm):
        if not any(fuzz.ratio(t, norm[j]) >= threshold * 100 for j in kept):
            kept.append(i)
    return kept


def test_lsh_fuzzy_dedup_is_close_to_all_pairs_on_varied_intents(trajectories):
    rng = random.Random(0)
    intents = [t.task.intent for t in trajectories]
    texts = list(intents)
    quoted = [q for t in intents for q in re.findall(r"'([^']+)'", t)]
    for _ in range(260):  # variants: another quoted value (like a new sample) and/or a few typos
        s = rng.choice(intents)
        values = re.findall(r"'([^']+)'", s)
        if values and rng.random() < 0.5:
            s = s.replace(rng.choice(values), rng.choice(quoted), 1)
        chars = list(s)
        for _ in range(rng.randint(0, 4)):
            chars[rng.randrange(len(chars))] = rng.choice("abcdefgh ")
        texts.append("".join(chars))
    rng.shuffle(texts)
    got = filters.fuzzy_dedup(texts, 0.9)
    brute = _brute_greedy(texts, 0.9)
    assert len(brute) < len(texts) / 2  # most variants are duplicates
    # every drop is a true duplicate of an item kept before it ...
    norm = [filters.normalize_text(t) for t in texts]
    kept = set(got)
    for i in set(range(len(texts))) - kept:
        assert any(fuzz.ratio(norm[i], norm[j]) >= 90 for j in kept if j < i), texts[i]
    # ... and LSH blocking misses few pairs: at most 2% more items kept than comparing all pairs
    assert len(brute) <= len(got) <= len(brute) + 0.02 * len(texts)


def test_mmr_prefers_diverse_items_over_redundant_relevant_ones():
    cluster = [["create", "issue", "login", "bug", f"v{i % 2}", "tool:gitlab.create_issue"] for i in range(10)]
    distinct = [["approve", "leave", "application", "tool:frappe.approve_leave"],
                ["send", "mail", "invoice", "reminder", "tool:mail.send"],
                ["share", "folder", "with", "recruiting", "tool:owncloud.share"]]
    docs = cluster + distinct
    rel = [0.9] * 10 + [0.6] * 3
    picks = filters.mmr_select(docs, rel, 4, lam=0.5)
    assert picks[0] < 10 and sorted(picks[1:]) == [10, 11, 12]
    only_relevance = filters.mmr_select(docs, rel, 4, lam=1.0)
    assert all(i < 10 for i in only_relevance)


def test_lazy_mmr_equals_brute_force_mmr(trajectories):
    rng = random.Random(1)
    docs = [filters.mmr_features(t.task.intent, t.tools) for t in trajectories] * 3
    docs = [d + [f"w{rng.randrange(30)}"] for d in docs]
    rel = [rng.random() for _ in docs]
    lam = 0.6
    rows = filters.TfidfRows(docs)
    dense = np.zeros((rows.n, rows.vocab_size))
    for i in range(rows.n):
        f, w = rows.row(i)
        dense[i, f] = w
    max_sim, chosen, brute = np.zeros(rows.n), np.zeros(rows.n, bool), []
    for _ in range(30):
        score = np.where(chosen, -np.inf, lam * np.asarray(rel) - (1 - lam) * max_sim)
        i = int(np.argmax(score))
        brute.append(i)
        chosen[i] = True
        max_sim = np.maximum(max_sim, dense @ dense[i])
    assert filters.mmr_select(docs, rel, 30, lam) == brute


def test_schema_checker_accepts_sampled_calls_and_names_bad_arguments(ctx, trajectories):
    checker = filters.SchemaChecker(ctx.registry)
    for t in trajectories:
        assert checker.trajectory_errors([s.to_action() for s in t.steps]) == []
    action = ctx.registry["gitlab.create_issue"]
    required = [p for p, spec in action.params.items() if spec.required]
    errors = checker.errors("gitlab.create_issue", {required[0]: {"not": "a string"}})
    assert errors and any(required[0] in e for e in errors)
    assert checker.errors("nope.tool", {}) == ["nope.tool: unknown tool"]


def test_grounding_replays_and_detects_tampering(ctx, trajectories):
    fresh = filters.FreshEpisodes(ctx.world)
    t = next(t for t in trajectories if any(c["type"].startswith("row") or c["type"] == "field_equals"
                                            for c in t.task.checks))
    actions = [s.to_action() for s in t.steps]
    good = filters.ground(fresh, ctx.registry, actions, t.task.checks, t.task.answer, t.final_state_hash)
    assert good.ok, good.reasons
    assert good.checks_passed == good.checks_total == len(t.task.checks)
    # a second replay from the same FreshEpisodes starts from the template again
    assert filters.ground(fresh, ctx.registry, actions, t.task.checks, t.task.answer, t.final_state_hash).ok
    wrong_hash = filters.ground(fresh, ctx.registry, actions, t.task.checks, t.task.answer, "0" * 64)
    assert not wrong_hash.ok and "state hash" in wrong_hash.reasons[-1]
    state_check = next(c for c in t.task.checks if c["type"] in ("row_exists", "field_equals"))
    bad = json.loads(json.dumps(state_check))
    key = "value" if bad["type"] == "field_equals" else next(iter(bad["where"]))
    if key == "value":
        bad["value"] = "never-this-value"
    else:
        bad["where"][key] = "never-this-value"
    tampered = filters.ground(fresh, ctx.registry, actions, [bad], t.task.answer, t.final_state_hash)
    assert not tampered.ok and tampered.checks_passed == 0
    no_steps = filters.ground(fresh, ctx.registry, [], t.task.checks, t.task.answer, t.final_state_hash)
    assert not no_steps.ok
    fresh.close()


def test_exclusions_match_intents_and_gold_action_signatures(tmp_path, trajectories):
    a, b, c = trajectories[:3]
    path = tmp_path / "test_split.jsonl"
    path.write_text("\n".join([json.dumps({"intent": a.task.intent.upper() + " "}),
                               json.dumps({"gold_actions": b.task.gold_actions}),
                               "just an intent line"]) + "\n")
    ex = filters.Exclusions.load(path)
    assert ex.matches(a.task.intent, a.task.gold_actions)
    assert ex.matches("a reworded intent", b.task.gold_actions)
    assert ex.matches("Just an intent LINE!", [])
    assert not ex.matches(c.task.intent, c.task.gold_actions)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n')
    with pytest.raises(UserError, match="bad.jsonl:1"):
        filters.Exclusions.load(bad)
    with pytest.raises(UserError, match="not found"):
        filters.Exclusions.load(tmp_path / "missing.jsonl")
