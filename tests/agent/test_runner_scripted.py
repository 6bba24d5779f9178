"""The episode loop driven with exact model outputs: a scripted OpenAI-compatible server (a real
HTTP server, playing an oracle-like policy) through the openai backend, on a real arena world.
Covers what the tiny model does not do reliably: native tool calls executed in the arena, a final
answer, the repeated-failure stop, lockstep batching and a requeue that reruns only what is missing."""
from __future__ import annotations

import json

from elab_hpc.agent.backends import make_backend
from elab_hpc.agent.cache import EpisodeCache
from elab_hpc.agent.config import AgentConfig, BackendConfig
from elab_hpc.agent.runner import Runner

from .scripted_server import completion

TASK = {"id": "rc", "intent": "How many Rocket.Chat channels are there?", "apps": ["rocketchat"]}


def ok(body):
    return (200, body, {}, 0)


def runner(url, scaffold, env, **kw):
    b = make_backend(BackendConfig(kind="openai", model="scripted", base_url=url, max_retries=0))
    return Runner(b, AgentConfig(scaffold=scaffold, max_turns=4, obs_budget_tokens=48, backend=b.cfg), env,
                  progress=False, **kw)


def test_fc_tool_calls_run_in_the_arena_then_answer(server, arena_env):
    call = [{"id": "c1", "type": "function", "function": {"name": "rocketchat__get_channels", "arguments": "{}"}}]
    url, script = server([ok(completion("", call)), ok(completion("There are 5 channels."))])
    r = runner(url, "fc", arena_env)
    [log] = r.run([TASK])
    assert log.stop_reason == "answer" and log.turns == 2 and log.answer == "There are 5 channels."
    assert log.format_errors == 0
    [action] = log.actions
    assert action["tool"] == "rocketchat.get_channels" and action["ok"] and action["args"] == {}
    assert action["result"]["channels"]  # the real arena answered
    roles = [m["role"] for m in log.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    tool_msg = log.messages[3]
    assert tool_msg["tool_call_id"] == "c1" and tool_msg["name"] == "rocketchat__get_channels"
    obs = json.loads(tool_msg["content"])
    assert obs["ok"] is True and "_truncated" in obs  # normalized to the 48-token budget
    # the second request carried the conversation so far, with the tools, in OpenAI form
    second = script.requests[1]["body"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
    assert second["messages"][2]["tool_calls"][0]["function"] == {"name": "rocketchat__get_channels",
                                                                  "arguments": "{}"}
    assert {t["function"]["name"] for t in second["tools"]} == {t["function"]["name"] for t in log.tools}


def test_react_repeated_failing_call_stops(server, arena_env):
    bad = 'Thought: join it\nAction: rocketchat__join_channel\nAction Input: {"channel_id": "no-such-channel"}'
    url, _ = server([ok(completion(bad))])
    [log] = runner(url, "react", arena_env).run([TASK])
    assert log.stop_reason == "repeated_failure" and log.turns == 2  # max_repeated_failures=2
    assert [a["ok"] for a in log.actions] == [False, False]
    assert log.actions[0]["error"] and log.messages[3]["content"].startswith('Observation: {"ok":false')


def test_react_format_errors_are_fed_back_and_counted(server, arena_env):
    url, _ = server([ok(completion("I would look at the channels.")), ok(completion("Action: x\nAction Input: {oops")),
                     ok(completion("Thought: done\nANSWER: 5"))])
    [log] = runner(url, "react", arena_env).run([TASK])
    assert log.stop_reason == "answer" and log.answer == "5" and log.turns == 3
    assert log.format_errors == 2 and not log.actions
    feedback = [m["content"] for m in log.messages[2:] if m["role"] == "user"]
    assert len(feedback) == 2 and all(f.startswith("Observation: Format error: ") for f in feedback)
    assert "no `Action:`" in feedback[0] and "not a JSON object" in feedback[1]


def test_lockstep_batches_and_requeue_runs_only_missing(server, arena_env, tmp_path):
    url, script = server([ok(completion("ANSWER: done"))])
    cache = EpisodeCache(tmp_path / "cache")
    tasks = [{**TASK, "id": f"t{i}"} for i in range(3)]
    first = runner(url, "react", arena_env, cache=cache)
    first.run(tasks[:1])  # a shard that finished one episode before it was preempted
    assert len(script.requests) == 1
    again = runner(url, "react", arena_env, cache=cache)
    logs = again.run(tasks, seeds=(0, 1))
    assert [(l.task_id, l.seed, l.cached) for l in logs] == [
        ("t0", 0, True), ("t0", 1, False), ("t1", 0, False), ("t1", 1, False), ("t2", 0, False), ("t2", 1, False)]
    assert again.generations == 1  # the five missing episodes advanced together in one batch
    assert len(script.requests) == 6 and len(list(cache)) == 6


def test_parallel_episodes_bounds_open_environments(server, arena_env):
    url, script = server([ok(completion("ANSWER: done"))])
    b = make_backend(BackendConfig(kind="openai", model="scripted", base_url=url, max_retries=0))
    cfg = AgentConfig(scaffold="react", max_turns=2, parallel_episodes=2, backend=b.cfg)
    r = Runner(b, cfg, arena_env, progress=False)
    logs = r.run([{**TASK, "id": f"t{i}"} for i in range(5)])
    assert [l.stop_reason for l in logs] == ["answer"] * 5
    assert r.generations == 3  # waves of 2, 2, 1 episodes
    # scheduling does not change what an episode is: same cache key
    wide = Runner(b, AgentConfig(scaffold="react", max_turns=2, parallel_episodes=64, backend=b.cfg), arena_env)
    assert wide.config_hash == r.config_hash
