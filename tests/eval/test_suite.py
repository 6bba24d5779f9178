"""The task suite: size, hand-written share, category mix, stable splits, test-split hygiene."""
import json
from collections import Counter

import pytest

from arena.tasks.suite import (CATEGORIES, DATA_DIR, MANIFEST_FILE, SIGNATURES_FILE, TARGET_MIX, SuiteError,
                               assert_disjoint, category_mix, load_suite, overlaps, split_of)


@pytest.fixture(scope="module")
def suite():
    return load_suite()


def test_size_sources_and_mix(suite):
    assert len(suite) >= 500
    hand = [t for t in suite if t["source"] == "handwritten"]
    assert len(hand) >= 60
    assert len({t["id"] for t in suite}) == len(suite)
    mix = category_mix(suite)
    for c in CATEGORIES:
        assert abs(mix[c] - TARGET_MIX[c]) <= 0.03, (c, mix[c])
    calls = [len(t["gold_actions"]) for t in suite]
    assert sum(1 for n in calls if 2 <= n <= 8) / len(calls) >= 0.8  # typical tasks: 2-8 calls
    assert all(1 <= len(t["apps"]) <= 4 for t in suite)
    for t in suite:
        assert t["checks"] and t["gold_actions"] and t["intent"], t["id"]
    # hand-written ones check the state AND/OR answer facts explicitly
    assert sum(1 for t in hand if any(c["type"].startswith("answer") for c in t["checks"])) >= 20
    assert sum(1 for t in hand if any(not c["type"].startswith("answer") for c in t["checks"])) >= 40


def test_splits_are_a_function_of_the_id(suite):
    counts = Counter(t["split"] for t in suite)
    assert set(counts) == {"train", "dev", "test"}
    assert counts["test"] >= 100
    assert all(t["split"] == split_of(t["id"]) for t in suite)
    manifest = json.loads(MANIFEST_FILE.read_text())
    assert manifest["splits"] == dict(counts)
    test = load_suite(split="test")
    assert {t["id"] for t in test} == {t["id"] for t in suite if t["split"] == "test"}
    assert load_suite(split="test", categories=["version_control"], limit=3) == \
        [t for t in test if t["category"] == "version_control"][:3]
    with pytest.raises(SuiteError, match="split 'tset'"):
        load_suite(split="tset")
    with pytest.raises(SuiteError, match="unknown category 'crdu'"):
        load_suite(categories=["crdu"])


def test_test_signatures_exclude_the_test_split_from_synthesis():
    from elab_hpc.synth.filters import Exclusions

    test = load_suite(split="test")
    lines = [json.loads(x) for x in SIGNATURES_FILE.read_text().splitlines()]
    assert sorted(x["id"] for x in lines) == sorted(t["id"] for t in test)
    ex = Exclusions.load(SIGNATURES_FILE)  # what synthesis reads via exclude_tasks=
    assert all(ex.matches(t["intent"], t["gold_actions"]) for t in test)
    train = load_suite(split="train")
    assert not any(ex.matches(t["intent"], t["gold_actions"]) for t in train)


def test_assert_disjoint_catches_leaked_test_tasks():
    test = load_suite(split="test")
    train = load_suite(split="train")
    assert_disjoint(train, test)  # the suite's own train split is clean
    leaked = dict(test[0], id="rec-1")
    # a training trajectory record (synthesis output shape) that repeats a test task's gold calls
    record = {"id": "rec-2", "task": {"intent": "something else entirely"},
              "actions": [dict(a, ok=True) for a in test[1]["gold_actions"]]}
    assert [h["test_task"] for h in overlaps([leaked, record], test)] == [test[0]["id"], test[1]["id"]]
    with pytest.raises(SuiteError, match="2 training record"):
        assert_disjoint(train[:5] + [leaked, record], test)


def test_data_files_present():
    for name in ("synth.jsonl", "handwritten.jsonl", "test_signatures.jsonl", "manifest.json"):
        assert (DATA_DIR / name).is_file()
