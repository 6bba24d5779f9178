"""The openai backend against a real `transformers serve` of the tiny model on 127.0.0.1 (the
same OpenAI-compatible API as `vllm serve`): batched requests and a ReAct episode on the arena."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from elab_hpc.agent import tiny_model
from elab_hpc.agent.backends import make_backend
from elab_hpc.agent.backends.base import GenParams
from elab_hpc.agent.config import AgentConfig, BackendConfig
from elab_hpc.agent.runner import Runner

STARTUP_S = 180


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which("transformers")
    if exe is None:
        pytest.fail("the `transformers` CLI is missing; install elab-hpc[train] (transformers[serving] deps)")
    model = tiny_model.materialize()
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([exe, "serve", str(model), "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu", "--dtype", "float32", "--log-level", "warning"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not healthy after {STARTUP_S}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base + "/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_openai_backend_against_transformers_serve(served):
    b = make_backend(BackendConfig(kind="openai", model="tiny", base_url=served, max_new_tokens=8, concurrency=2))
    outs = b.generate([[{"role": "user", "content": "Say hi."}], [{"role": "user", "content": "Name a color."}]],
                      None, GenParams(max_new_tokens=8))
    assert len(outs) == 2
    for out in outs:
        assert out.content.strip()
        assert out.usage.prompt_tokens > 0 and 1 <= out.usage.completion_tokens <= 8
        assert out.finish_reason in ("stop", "length")
    assert b.stats["retries"] == 0
    b.close()


def test_react_episode_through_the_server(served, arena_env):
    b = make_backend(BackendConfig(kind="openai", model="tiny", base_url=served, max_new_tokens=24))
    assert not b.supports_prefill  # the chat API starts a new assistant turn; no "Thought:" prefill
    cfg = AgentConfig(scaffold="react", max_turns=1, backend=b.cfg)
    [log] = Runner(b, cfg, arena_env, progress=False).run(
        [{"id": "rc", "intent": "List the Rocket.Chat channels.", "apps": ["rocketchat"]}])
    assert log.turns == 1 and log.stop_reason in ("answer", "max_turns", "repeated_failure", "token_budget")
    assert [m["role"] for m in log.messages[:3]] == ["system", "user", "assistant"]
    assert len(log.actions) + log.format_errors + (log.answer is not None) == 1
    # the server saw the whole prompt (system with the tools listing + intent) in the model's own template
    tok = tiny_model.load_tokenizer()
    prompt = tok.apply_chat_template(log.messages[:2], add_generation_prompt=True, tokenize=False)
    assert log.tokens["prompt"] == len(tok(prompt, add_special_tokens=False)["input_ids"])
    b.close()
