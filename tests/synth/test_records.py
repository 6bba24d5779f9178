"""Records of real sampled trajectories: JSONL and Parquet load with `datasets` in the shape TRL's
SFTTrainer takes (rendered here with the project's tool-aware chat template, as TRL does), the
ReAct rendering, and DPO pairs whose rejected side was executed (real errors / wrong states)."""
from __future__ import annotations

import json
import random

import pytest

from elab_hpc.synth import records as R
from elab_hpc.synth.config import SamplerConfig
from elab_hpc.synth.filters import FreshEpisodes
from elab_hpc.synth.sampler import Sampler, load_context


@pytest.fixture(scope="module")
def ctx():
    return load_context(seed=0, scale="small")


@pytest.fixture(scope="module")
def trajectories(ctx):
    sampler = Sampler(ctx, SamplerConfig())
    out = list(sampler.run(24, seed=5))
    sampler.close()
    return out


@pytest.fixture(scope="module")
def built(ctx, trajectories):
    return [R.build_record(t, ctx.registry, distractors=3) for t in trajectories]


def _check_chat(rec, registry):
    msgs = rec["messages"]
    task = json.loads(rec["task"]) if isinstance(rec["task"], str) else rec["task"]  # a JSON column in Parquet
    assert [m["role"] for m in msgs[:2]] == ["system", "user"] and msgs[1]["content"] == task["intent"]
    assert msgs[-1]["role"] == "assistant" and not msgs[-1].get("tool_calls") and msgs[-1]["content"]
    tools = json.loads(rec["tools"]) if isinstance(rec["tools"], str) else rec["tools"]
    offered = {t["function"]["name"] for t in tools}
    calls = [c for m in msgs if m["role"] == "assistant" and m.get("tool_calls") for c in m["tool_calls"]]
    assert len(calls) == len(rec["actions"] if isinstance(rec["actions"], list) else json.loads(rec["actions"]))
    for m in msgs[2:-1]:
        assert m["role"] in ("assistant", "tool")
    answered = {m["tool_call_id"] for m in msgs if m["role"] == "tool"}
    for c in calls:
        assert c["type"] == "function" and c["function"]["name"] in offered
        assert registry.by_fn_name(c["function"]["name"]) is not None
        assert isinstance(json.loads(c["function"]["arguments"]), dict)
        assert c["id"] in answered
    assert len(offered) > len({c["function"]["name"] for c in calls}) or len(tools) == len(offered)


def test_records_follow_the_contract(ctx, trajectories, built):
    for t, rec in zip(trajectories, built):
        assert set(rec) >= {"id", "task", "tools", "messages", "messages_react", "actions", "final_state_hash", "meta"}
        assert set(rec["task"]) >= {"intent", "category", "checks"}
        assert [a["tool"] for a in rec["actions"]] == t.tools
        assert all(("result" in a) == a["ok"] for a in rec["actions"])
        _check_chat(rec, ctx.registry)
        # the tool messages are the normalized observations of the recorded results
        tool_msgs = [m for m in rec["messages"] if m["role"] == "tool"]
        for m, step in zip(tool_msgs, t.steps):
            obs = json.loads(m["content"])
            assert obs["ok"] is True and "data" in obs
        react = rec["messages_react"]
        assert "Action Input:" in react[0]["content"]  # the format is explained in the system turn
        acts = [m for m in react if m["role"] == "assistant"]
        assert len(acts) == len(t.steps) + 1
        for m, step in zip(acts, t.steps):
            assert m["content"].startswith("Thought: ")
            assert f"\nAction: {ctx.registry[step.tool].fn_name}\nAction Input: " in m["content"]
            assert json.loads(m["content"].split("Action Input: ", 1)[1]) == step.args
        assert acts[-1]["content"].split("\n")[-1] == f"ANSWER: {t.task.answer}"
        assert all(m["content"].startswith("Observation: ") for m in react[3::2][:len(t.steps)])


def test_jsonl_and_parquet_load_with_datasets_in_trl_shape(tmp_path, ctx, built):
    datasets = pytest.importorskip("datasets")
    from transformers.utils.chat_template_utils import render_jinja_template
    from trl.data_utils import is_conversational

    from elab_hpc.agent.templates import load

    assert R.write_jsonl(tmp_path / "train.jsonl", built) == len(built)
    assert R.write_parquet(tmp_path / "train.parquet", built) == len(built)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files
    for ds in (datasets.Dataset.from_json(str(tmp_path / "train.jsonl")),
               datasets.Dataset.from_parquet(str(tmp_path / "train.parquet"))):
        assert len(ds) == len(built)
        assert {"messages", "tools"} <= set(ds.column_names)
        for ex, rec in zip(ds, built):
            assert is_conversational(ex)
            assert ex["id"] == rec["id"]
            _check_chat(ex, ctx.registry)
            # what TRL's SFTTrainer does with an example: json-load a string `tools`, apply the template
            tools = json.loads(ex["tools"]) if isinstance(ex["tools"], str) else ex["tools"]
            text = render_jinja_template([ex["messages"]], tools=tools, chat_template=load("chatml_tools"))[0][0]
            assert rec["task"]["intent"] in text
            for t in tools:
                assert t["function"]["name"] in text
            prompt = render_jinja_template([ex["messages"][:2]], tools=tools, chat_template=load("chatml_tools"))[0][0]
            assert text.count("<tool_call>") - prompt.count("<tool_call>") == len(rec["actions"])
            assert text.count("<tool_response>") == len(rec["actions"])


def test_corruptions_change_what_they_say(ctx, trajectories):
    rng = random.Random(0)
    t = max(trajectories, key=lambda t: len(t.steps))
    skipped = R.corrupt(t, ctx.registry, "skip_step", rng)
    assert len(skipped) == len(t.steps) - 1
    wrong_arg = R.corrupt(t, ctx.registry, "wrong_arg", rng)
    diffs = [(a, s) for a, s in zip(wrong_arg, t.steps) if a["args"] != s.args]
    assert len(diffs) == 1 and diffs[0][0]["tool"] == diffs[0][1].tool
    wrong_tool = R.corrupt(t, ctx.registry, "wrong_tool", rng)
    changed = [(a, s) for a, s in zip(wrong_tool, t.steps) if a["tool"] != s.tool]
    assert len(changed) == 1 and ctx.registry[changed[0][0]["tool"]].app == ctx.registry[changed[0][1].tool].app
    with pytest.raises(ValueError, match="unknown corruption"):
        R.corrupt(t, ctx.registry, "nope", rng)


def test_dpo_pairs_reject_executed_corruptions(tmp_path, ctx, trajectories):
    datasets = pytest.importorskip("datasets")
    from trl.data_utils import is_conversational

    fresh = FreshEpisodes(ctx.world)
    pairs = [p for t in trajectories
             if (p := R.dpo_pair(t, ctx.registry, fresh, random.Random(t.id))) is not None]
    assert len(pairs) >= len(trajectories) // 2
    by_id = {t.id: t for t in trajectories}
    saw_error = 0
    for p in pairs:
        t = by_id[p["meta"]["trajectory"]]
        assert [m["role"] for m in p["prompt"]] == ["system", "user"]
        assert p["chosen"][0]["role"] == p["rejected"][0]["role"] == "assistant"
        assert p["chosen"] != p["rejected"]
        assert p["meta"]["corruption"] in R.CORRUPTIONS
        # replay the rejected calls: the observations are what the arena really answers
        calls = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
                 for m in p["rejected"] if m.get("tool_calls") for c in m["tool_calls"]]
        recorded = [json.loads(m["content"]) for m in p["rejected"] if m["role"] == "tool"]
        replay = R.execute_actions(fresh, ctx.registry,
                                   [{"tool": ctx.registry.by_fn_name(n).name, "args": a} for n, a in calls],
                                   t.task.checks, t.task.answer)
        assert [s.ok for s in replay["steps"]] == [o["ok"] for o in recorded]
        errors = [o for o in recorded if not o["ok"]]
        saw_error += bool(errors)
        for o in errors:
            assert o["data"]["error"]["code"] and o["data"]["error"]["message"]
        # and the rejected run really is worse: a check fails or the final state differs
        assert replay["checks_passed"] < len(t.task.checks) or replay["state_hash"] != t.final_state_hash
    assert saw_error >= 1
    R.write_jsonl(tmp_path / "dpo.jsonl", pairs)
    ds = datasets.Dataset.from_json(str(tmp_path / "dpo.jsonl"))
    assert {"prompt", "chosen", "rejected"} <= set(ds.column_names)
    assert is_conversational(ds[0])
    fresh.close()


def test_read_jsonl_names_the_bad_line(tmp_path):
    from elab_hpc.errors import UserError

    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n{broken\n')
    with pytest.raises(UserError, match="x.jsonl:2"):
        list(R.read_jsonl(p))
