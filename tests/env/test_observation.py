"""The observation normalizer on pathological outputs, with the approximate and a real tokenizer."""
from __future__ import annotations

import json

import pytest

from elab_hpc.env.observation import normalize, render, token_counter

PATHOLOGICAL = {
    "huge_list": {"items": [{"id": i, "name": f"n{i}", "body": "lorem " * 50} for i in range(20000)], "total": 20000},
    "deep_nesting": None,  # built below
    "binary": bytes(range(256)) * 400,
    "traceback": "Traceback (most recent call last):\n" + '  File "x.py", line 3, in f\n    g()\n' * 200
                 + "KeyError: 'project_id'\n",
    "cli_log": "\n".join([f"[{i:05d}] INFO step ok" for i in range(5000)] + ["[05000] ERROR disk full"]),
    "long_text": "word " * 100000,
    "error_dict": {"error": {"code": "not_found", "message": "gone " * 2000, "details": {"x": list(range(5000))}}},
    "json_text": json.dumps({"rows": [[i, str(i)] for i in range(10000)]}),
    "unicode_junk": "\udcff\u202e\x00" * 1000,
}


def _deep(n):
    root = cur = {}
    for _ in range(n):
        cur["child"] = {}
        cur = cur["child"]
    return root


PATHOLOGICAL["deep_nesting"] = _deep(5000)


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
@pytest.mark.parametrize("budget", [64, 256, 1024])
def test_within_budget_and_deterministic(name, budget):
    raw = PATHOLOGICAL[name]
    obs = normalize(raw, budget=budget)
    assert token_counter()(render(obs)) <= budget
    assert normalize(raw, budget=budget) == obs
    json.loads(render(obs))  # valid JSON


def test_errors_and_identifiers_survive_truncation():
    obs = normalize(PATHOLOGICAL["error_dict"], budget=64)
    assert obs["ok"] is False and obs["data"]["error"]["code"] == "not_found"
    obs = normalize(PATHOLOGICAL["huge_list"], budget=200)
    assert obs["data"]["total"] == 20000
    assert obs["data"]["items"][0]["id"] == 0
    assert obs["_truncated"]["lists"]["$.items"]["total"] == 20000
    tb = normalize(PATHOLOGICAL["traceback"], budget=128)
    assert tb["kind"] == "error" and "KeyError" in tb["data"]["error"]
    log = normalize(PATHOLOGICAL["cli_log"], budget=128)
    assert log["kind"] == "log" and any("disk full" in a for a in log["data"]["alerts"])
    assert normalize(PATHOLOGICAL["binary"])["kind"] == "binary"


def test_small_outputs_pass_unchanged():
    obs = normalize({"id": 3, "name": "x"}, budget=64)
    assert obs == {"ok": True, "kind": "json", "data": {"id": 3, "name": "x"}}


def test_real_tokenizer_budget():
    """Budgets are measured with the bundled model's own tokenizer when it is given."""
    from elab_hpc.agent.tiny_model import load_tokenizer

    tok = load_tokenizer()
    count = token_counter(tok)
    for raw in (PATHOLOGICAL["huge_list"], PATHOLOGICAL["long_text"], PATHOLOGICAL["unicode_junk"]):
        obs = normalize(raw, budget=100, tokenizer=tok)
        assert count(render(obs)) <= 100


def test_record_lists_keep_identifiers_before_collapsing():
    """A list of records over budget keeps each record's id and subject/title (what the next call
    or the answer needs) rather than collapsing the records to `{…N keys}`."""
    emails = {"total": 3, "emails": [{"email_id": i, "subject": f"Status report {i}", "from": "a@b.example",
                                      "to": ["c@d.example"], "date": "2026-02-15T16:56:00",
                                      "preview": "Dear Jordan, " * 20} for i in range(3)]}
    obs = normalize(emails, budget=110)
    assert [e["email_id"] for e in obs["data"]["emails"]] == [0, 1, 2]
    assert obs["data"]["emails"][2]["subject"] == "Status report 2"
    assert "preview" not in obs["data"]["emails"][0]
    assert obs["_truncated"]["keys_dropped"] == 12  # a count: listing 12 paths would not fit
