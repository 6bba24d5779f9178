"""Shared pieces of the training tests: small trajectory records in the project's contract
(messages + tools), and a TrainConfig for the real tiny model cut to 2 layers (fast on CPU)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TOOLS = [{"type": "function", "function": {
    "name": "gitlab.create_issue", "description": "Create an issue in a GitLab project.",
    "parameters": {"type": "object", "properties": {"project": {"type": "string"},
                                                     "title": {"type": "string"}},
                   "required": ["project", "title"]}}},
         {"type": "function", "function": {
             "name": "plane.list_projects", "description": "List Plane projects.",
             "parameters": {"type": "object", "properties": {}}}}]


def trajectory(i: int) -> dict:
    title = f"Fix login bug {i}"
    return {
        "id": f"t{i}", "task": {"intent": f"Open an issue '{title}' in web", "category": "crud"},
        "tools": TOOLS,
        "messages": [
            {"role": "system", "content": "You are an enterprise assistant."},
            {"role": "user", "content": f"Open an issue '{title}' in the web project."},
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                "name": "gitlab.create_issue", "arguments": json.dumps({"project": "web", "title": title})}}]},
            {"role": "tool", "name": "gitlab.create_issue", "content": json.dumps({"iid": 100 + i, "state": "opened"})},
            {"role": "assistant", "content": f"Created issue #{100 + i} '{title}' in web."},
        ],
    }


@pytest.fixture(scope="session")
def sft_records(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("records") / "train.jsonl"
    path.write_text("".join(json.dumps(trajectory(i)) + "\n" for i in range(4)))
    return path


@pytest.fixture(scope="session")
def short_records(tmp_path_factory) -> Path:
    """Short tool-free conversations (~50 tokens): for the multi-process runs, where compute
    per step is what the test waits for."""
    path = tmp_path_factory.mktemp("short") / "train.jsonl"
    rows = [{"tools": [], "messages": [
        {"role": "user", "content": f"Which room is meeting {i} in?"},
        {"role": "assistant", "content": f"Meeting {i} is in room {100 + 7 * i}."}]} for i in range(8)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def tiny_overrides(out: Path, **extra) -> list:
    """The real tiny model, first 2 layers, short sequences, one thread (deterministic)."""
    base = {"output_dir": str(out), "model.num_layers": 2, "data.max_length": 512, "threads": 1,
            "optim.seed": 0}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]
