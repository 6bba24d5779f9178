"""DPO with TRL's DPOTrainer on the real tiny model (2 layers, CPU), and the pair miner."""
from __future__ import annotations

import json

import pytest

from elab_hpc.errors import UserError
from elab_hpc.train.checkpointing import read_metrics
from elab_hpc.train.config import load_train
from elab_hpc.train.launch import run_local
from elab_hpc.train.mining import mine_pairs

from .conftest import TOOLS, tiny_overrides, trajectory


def episode(task: int, ok: bool, attempt: int) -> dict:
    msgs = trajectory(task)["messages"]
    if not ok:  # the failed rollout calls the wrong tool and gives up
        msgs = msgs[:2] + [
            {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                "name": "plane.list_projects", "arguments": "{}"}}]},
            {"role": "tool", "name": "plane.list_projects", "content": "[]"},
            {"role": "assistant", "content": f"I could not do it ({attempt})."}]
    return {"task_id": f"task-{task}", "messages": msgs, "tools": TOOLS, "success": ok}


def test_mining_pairs_a_successful_and_a_failed_rollout_of_the_same_task():
    eps = [episode(0, True, 0), episode(0, False, 1), episode(0, False, 2),
           episode(1, True, 0),  # no failure: no pair
           episode(2, False, 0)]  # no success: no pair
    pairs = mine_pairs(eps, max_pairs_per_task=4)
    assert [p["task_id"] for p in pairs] == ["task-0", "task-0"]
    p = pairs[0]
    assert [m["role"] for m in p["prompt"]] == ["system", "user"]
    assert p["chosen"][0]["tool_calls"][0]["function"]["name"] == "gitlab.create_issue"
    assert p["rejected"][0]["tool_calls"][0]["function"]["name"] == "plane.list_projects"
    assert p["tools"] == TOOLS
    assert len(mine_pairs(eps, max_pairs_per_task=1)) == 1
    # reward instead of success: >= threshold counts as success
    by_reward = [{**e, "reward": 1.0 if e.pop("success") else 0.2} for e in eps[:2]]
    assert len(mine_pairs(by_reward)) == 1


def test_mining_rejects_episodes_without_an_outcome():
    bad = {"task_id": "x", "messages": trajectory(0)["messages"]}
    with pytest.raises(UserError, match=r"episodes\[0\]: no outcome"):
        mine_pairs([bad])


def test_dpo_on_mined_and_given_pairs_moves_the_reward_margin(tmp_path):
    # without the tool schemas in the system turn: ~4x shorter sequences, same pair structure
    eps = [{**episode(t, ok, a), "tools": []} for t in range(2) for ok, a in ((True, 0), (False, 1))]
    mined = tmp_path / "episodes.jsonl"
    mined.write_text("".join(json.dumps(e) + "\n" for e in eps))
    given = tmp_path / "dpo.jsonl"
    p = mine_pairs([episode(3, True, 0), episode(3, False, 1)])[0]
    given.write_text(json.dumps({k: p[k] for k in ("prompt", "chosen", "rejected")}) + "\n")
    out = tmp_path / "dpo"
    cfg = load_train("dpo_tiny", tiny_overrides(out, **{
        "data.train": given, "data.mine_from": mined, "optim.max_steps": 3, "optim.lr": 5e-4,
        "optim.batch_size": 3, "checkpoint.every_steps": 3}), kind="dpo")
    result = run_local(cfg, show_progress=False)
    assert result["status"] == "completed" and result["step"] == 3
    rows = [r for r in read_metrics(out) if "rewards/margins" in r]
    assert len(rows) == 3
    # step 1 runs at the reference policy (margin 0); training then separates chosen from rejected
    assert abs(rows[0]["rewards/margins"]) < 1e-4
    assert rows[-1]["rewards/margins"] > 0.05, rows
    assert rows[-1]["rewards/accuracies"] == 1.0


def test_dpo_config_without_pairs_is_rejected_before_anything_runs(tmp_path):
    from elab_hpc.errors import ConfigError

    with pytest.raises(ConfigError, match="data.train: dpo needs"):
        load_train("dpo_tiny", [f"output_dir={tmp_path}/o"], kind="dpo")
    assert not (tmp_path / "o").exists()
