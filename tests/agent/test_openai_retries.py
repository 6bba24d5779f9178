"""The openai backend against a real local HTTP server the test runs (http.server in a thread):
503 twice then 200, Retry-After on 429, timeouts, giving up, no retry on 400, the key header
from the named environment variable, and the concurrency limit."""
from __future__ import annotations

import time

import pytest

from elab_hpc.agent.backends import make_backend
from elab_hpc.agent.backends.base import GenParams
from elab_hpc.agent.backends.openai import BackendError
from elab_hpc.agent.config import BackendConfig
from elab_hpc.errors import UserError
from .scripted_server import completion


def backend(url, **kw):
    return make_backend(BackendConfig(kind="openai", model="m", base_url=url, max_new_tokens=8, **kw))


OK = (200, completion(), {}, 0)
BUSY = (503, {"error": "overloaded"}, {}, 0)


def test_retries_503_twice_then_ok(server):
    url, script = server([BUSY, BUSY, OK])
    b = backend(url, max_retries=3)
    t0 = time.perf_counter()
    [out] = b.generate([[{"role": "user", "content": "hi"}]])
    waited = time.perf_counter() - t0
    assert out.content == "hello" and out.usage.prompt_tokens == 11 and out.usage.completion_tokens == 3
    assert len(script.requests) == 3 and b.stats == {"requests": 3, "retries": 2}
    assert waited >= 0.5 + 1.0  # exponential backoff: 0.5 s, then 1 s
    req = script.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "m" and req["body"]["max_tokens"] == 8 and req["auth"] is None
    b.close()


def test_429_honours_retry_after_and_gives_up(server):
    url, script = server([(429, {"error": "slow down"}, {"Retry-After": "0"}, 0)])
    b = backend(url, max_retries=2)
    with pytest.raises(BackendError, match=r"gave up after 3 attempts; last: HTTP 429"):
        b.generate([[{"role": "user", "content": "hi"}]])
    assert len(script.requests) == 3
    b.close()


def test_timeout_is_retried(server):
    url, script = server([(200, completion("late"), {}, 1.5), OK])
    b = backend(url, timeout_s=0.5, max_retries=1)
    [out] = b.generate([[{"role": "user", "content": "hi"}]])
    assert out.content == "hello" and len(script.requests) == 2
    b.close()


def test_client_errors_are_not_retried(server):
    url, script = server([(400, {"error": "bad request"}, {}, 0)])
    b = backend(url, max_retries=3)
    with pytest.raises(BackendError, match="HTTP 400"):
        b.generate([[{"role": "user", "content": "hi"}]])
    assert len(script.requests) == 1
    url, script = server([(401, {"error": "bad key"}, {}, 0)])
    with pytest.raises(UserError, match="refused the credentials"):
        backend(url).generate([[{"role": "user", "content": "hi"}]])


def test_key_header_tools_and_concurrency_limit(server, monkeypatch):
    calls = [{"id": "c9", "type": "function", "function": {"name": "a__b", "arguments": '{"x": 1}'}}]
    url, script = server([(200, completion("", calls), {}, 0.3)])
    monkeypatch.setenv("ELAB_TEST_KEY", "sk-local")
    b = backend(url, api_key_env="ELAB_TEST_KEY", concurrency=2)
    tools = [{"type": "function", "function": {"name": "a__b", "parameters": {"type": "object"}}}]
    outs = b.generate([[{"role": "user", "content": str(i)}] for i in range(6)], tools,
                      GenParams(max_new_tokens=5, stop=["\nObservation:"]))
    assert len(outs) == 6 and all(o.finish_reason == "tool_calls" for o in outs)
    assert [(c.id, c.name, c.arguments) for c in outs[0].tool_calls] == [("c9", "a__b", {"x": 1})]
    assert [r["body"]["messages"][0]["content"] for r in sorted(script.requests,
            key=lambda r: r["body"]["messages"][0]["content"])] == [str(i) for i in range(6)]
    assert all(r["auth"] == "Bearer sk-local" and r["body"]["tools"] == tools and
               r["body"]["stop"] == ["\nObservation:"] for r in script.requests)
    assert script.max_in_flight == 2  # six requests, never more than `concurrency` at once
    b.close()


def test_raw_tool_call_markup_in_content_is_read(server):
    # servers without a tool parser for the model return the template's markup as text
    url, _ = server([(200, completion('<tool_call>{"name": "a__b", "arguments": {"x": 2}}</tool_call>'), {}, 0)])
    b = backend(url)
    [out] = b.generate([[{"role": "user", "content": "hi"}]],
                       [{"type": "function", "function": {"name": "a__b", "parameters": {}}}])
    assert out.content == "" and [(c.name, c.arguments) for c in out.tool_calls] == [("a__b", {"x": 2})]
    b.close()
