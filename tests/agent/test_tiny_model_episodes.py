"""The real tiny model (SmolLM2-135M-Instruct) in-process: batched generation through the hf
backend, then whole episodes on a real arena world with both scaffolds, the episode log, the
on_finish hook and the cache. Scores are irrelevant here; logs, actions and termination are not."""
from __future__ import annotations

import json

from elab_hpc.agent.backends.base import GenParams
from elab_hpc.agent.cache import EpisodeCache
from elab_hpc.agent.config import AgentConfig
from elab_hpc.agent.runner import EpisodeLog, Runner
from elab_hpc.env.observation import approx_tokens, token_counter

TASK = {"id": "rc-channels", "intent": "List the Rocket.Chat channels.", "apps": ["rocketchat"]}
STOPS = {"answer", "max_turns", "repeated_failure", "token_budget"}


def test_hf_backend_batched_generate(tiny_backend):
    b = tiny_backend
    assert b.tokenizer.padding_side == "left" and b.template == "chatml_tools"
    tools = [{"type": "function", "function": {"name": "rocketchat__get_channels", "description": "All channels.",
                                               "parameters": {"type": "object", "properties": {}}}}]
    convs = [[{"role": "user", "content": "Say hi."}],
             [{"role": "user", "content": "Which channels exist?"}, {"role": "assistant", "content": "Thought:"}]]
    assert "<tools>" in b.render(convs[0], tools)
    prefilled = b.render(convs[1], None)
    assert prefilled.endswith("<|im_start|>assistant\nThought:")  # continued, not a new turn
    outs = b.generate(convs, tools, GenParams(max_new_tokens=12))
    assert len(outs) == 2
    for conv, out in zip(convs, outs):
        assert isinstance(out.content, str)
        assert out.usage.prompt_tokens == len(b.tokenizer(b.render(conv, tools), add_special_tokens=False)["input_ids"])
        assert 1 <= out.usage.completion_tokens <= 12
        assert out.finish_reason in ("stop", "length", "tool_calls")
    # stop strings cut the completion and count as a normal stop
    [out] = b.generate([[{"role": "user", "content": "Count from 1 to 20, one number per line."}]], None,
                       GenParams(max_new_tokens=16, stop=["3"]))
    assert "3" not in out.content and out.finish_reason == "stop"


def check_log(log: EpisodeLog, cfg: AgentConfig):
    assert log.stop_reason in STOPS and 1 <= log.turns <= cfg.max_turns
    assert log.messages[0]["role"] == "system" and log.messages[1] == {"role": "user", "content": TASK["intent"]}
    assistant = [m for m in log.messages if m["role"] == "assistant"]
    assert len(assistant) == log.turns
    assert {t["function"]["name"] for t in log.tools} and all(
        t["function"]["name"].startswith("rocketchat__") for t in log.tools)
    for a in log.actions:
        assert set(a) == {"tool", "args", "ok", "result" if a["ok"] else "error"}
        assert isinstance(a["args"], dict)
    assert log.tokens["prompt"] > 0 and log.tokens["completion"] > 0
    assert log.timings["generate_s"] > 0 and log.timings["total_s"] >= log.timings["generate_s"]
    assert log.final_state_hash and len(log.final_state_hash) == 64
    json.dumps(log.to_dict())  # the whole record is JSON


def test_react_episode_on_the_arena_and_cache(tiny_backend, arena_env, tmp_path):
    cfg = AgentConfig(scaffold="react", max_turns=2, obs_budget_tokens=64, backend=tiny_backend.cfg)
    cache = EpisodeCache(tmp_path / "episodes")
    seen = []

    def on_finish(log, session):  # runs before the episode closes, e.g. to execute checks
        seen.append(log.task_id)
        log.extra["arena_calls"] = session.episode.calls

    runner = Runner(tiny_backend, cfg, arena_env, cache=cache, on_finish=on_finish, progress=False)
    [log] = runner.run([TASK])
    check_log(log, cfg)
    # every turn ends in exactly one of: a tool call, a format error, the answer
    assert len(log.actions) + log.format_errors + (log.answer is not None) == log.turns
    # greedy decoding of this prompt makes the tiny model call a real tool (ReAct prefill + example)
    assert log.actions, log.messages
    assert log.extra["arena_calls"] == sum(1 for a in log.actions if a["tool"].startswith("rocketchat."))
    count = token_counter(tiny_backend.tokenizer)
    for m in log.messages[2:]:
        if m["role"] == "user":
            assert m["content"].startswith("Observation: ")
            if not m["content"].startswith("Observation: Format error"):
                assert count(m["content"][len("Observation: "):]) <= cfg.obs_budget_tokens
    assert seen == ["rc-channels"] and runner.generations == log.turns

    # a rerun (or a requeued shard) loads the finished episode instead of generating again
    again = Runner(tiny_backend, cfg, arena_env, cache=cache, on_finish=on_finish, progress=False)
    [cached] = again.run([TASK])
    assert again.generations == 0 and cached.cached and seen == ["rc-channels"]
    assert cached.to_dict() == log.to_dict()
    assert cache.hits == 1 and len(list(cache)) == 1
    assert cache.export_jsonl(tmp_path / "episodes.jsonl") == 1
    # another seed or another scaffold config is another episode
    other = Runner(tiny_backend, AgentConfig(scaffold="react", max_turns=3, obs_budget_tokens=64,
                                             backend=tiny_backend.cfg), arena_env, cache=cache, progress=False)
    assert other.config_hash != runner.config_hash


def test_fc_episode_on_the_arena(tiny_backend, arena_env):
    cfg = AgentConfig(scaffold="fc", max_turns=2, backend=tiny_backend.cfg)
    [log] = Runner(tiny_backend, cfg, arena_env, progress=False).run([TASK])
    check_log(log, cfg)
    assert "<tools>" in tiny_backend.render(log.messages[:2], log.tools)
    for m in log.messages:
        if m["role"] == "tool":
            assert m["tool_call_id"] and m["name"]
        if m.get("tool_calls"):
            assert all(json.loads(c["function"]["arguments"]) is not None for c in m["tool_calls"])
    if log.stop_reason == "answer":
        assert log.answer and log.messages[-1]["role"] == "assistant"


def test_context_budget_stops_the_episode(tiny_backend, arena_env):
    # a context budget smaller than the first prompt ends the episode after one turn
    cfg = AgentConfig(scaffold="react", max_turns=4, max_context_tokens=64, backend=tiny_backend.cfg)
    [log] = Runner(tiny_backend, cfg, arena_env, progress=False).run([TASK])
    assert log.turns == 1 and log.stop_reason in ("token_budget", "answer")
    assert approx_tokens(log.messages[0]["content"]) > 64
