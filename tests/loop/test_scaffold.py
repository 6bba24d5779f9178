"""SFT rows are the evaluator's own view of an episode: the same system prompt the runner builds,
the synthesizer's thoughts, and observations equal to what replaying the actions in a real arena
episode shows the agent."""
from __future__ import annotations

import pytest

from elab_hpc.agent import react
from elab_hpc.agent.backends.hf import resolve_model
from elab_hpc.agent.env_adapter import ArenaEnv
from elab_hpc.env.observation import normalize, render
from elab_hpc.eval.config import load_eval_config
from elab_hpc.loop.scaffold import render_records, select_tasks, step_thoughts
from elab_hpc.synth.records import read_jsonl
from elab_hpc.synth.run import load_synth_config, merge, run_shard


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from transformers import AutoTokenizer

    out = tmp_path_factory.mktemp("synth")
    cfg = load_synth_config(None, ["n=8", "shards=1", "output.chunk_size=16", "arena.apps=[filesystem,calendar]"])
    run_shard(cfg, out, 0, 1, show=False)
    merge(out, show=False)
    records = list(read_jsonl(out / "train.jsonl"))
    ecfg = load_eval_config("configs/eval/tiny_baseline.yaml", [])
    tok = AutoTokenizer.from_pretrained(resolve_model("tiny"))
    env = ArenaEnv(seed=ecfg.seed, scale=ecfg.scale)
    return records, render_records(records, env, ecfg.agent, tok), env, ecfg, tok


def test_rows_match_what_the_runner_shows_in_an_episode(rendered):
    records, got, env, ecfg, tok = rendered
    assert records and len(got["rows"]) == len(records)
    for rec, row in zip(records, got["rows"]):
        msgs = row["messages"]
        session = env.open(rec["task"], rec["task"]["apps"])  # the runner's session for this task
        try:
            assert msgs[0]["content"] == react.system_prompt(session.tools, ecfg.agent.system_prompt)
            assert msgs[1] == {"role": "user", "content": rec["task"]["intent"]}
            turns = msgs[2:-1]
            assert len(turns) == 2 * len(rec["actions"])
            for a, thought, (call, obs) in zip(rec["actions"], step_thoughts(rec), zip(turns[::2], turns[1::2])):
                parsed = react.parse(call["content"])
                fn = env.registry[a["tool"]].fn_name
                assert (parsed.kind, parsed.tool, parsed.args, parsed.thought) == ("action", fn, a["args"], thought)
                live = session.call(fn, a["args"])  # replayed: the observation the agent would get
                payload = live.get("result") if live["ok"] else {"error": live.get("error")}
                want = render(normalize(payload, budget=ecfg.agent.obs_budget_tokens, tokenizer=tok, ok=live["ok"]))
                assert obs == {"role": "user", "content": react.observation_text(want)}
        finally:
            session.close()
        assert react.parse(msgs[-1]["content"]).kind == "answer"
        assert row["tools"] == []  # the ReAct prompt lists the tools; the template must not repeat them


def test_too_long_rows_are_left_out_not_cut(rendered):
    records, _, env, ecfg, tok = rendered
    short = render_records(records, env, ecfg.agent, tok, max_tokens=200)
    assert short["rows"] == [] and short["dropped_too_long"] == len(records)


def test_select_tasks_keeps_tasks_inside_the_apps():
    tasks = [{"id": "b", "apps": ["mail"]}, {"id": "a", "apps": ["mail", "gitlab"]}, {"id": "c", "apps": ["browser"]}]
    assert [t["id"] for t in select_tasks(tasks, ["mail", "browser"])] == ["b", "c"]
    assert [t["id"] for t in select_tasks(tasks, [], limit=2)] == ["a", "b"]
