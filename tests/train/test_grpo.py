"""GRPO on TRL's GRPOTrainer with the real tiny model (SmolLM2-135M-Instruct, CPU) and real arena
episodes: the agentic rollout (multi-turn, observations masked by env_mask, reward r1..r4 per
component) and the single-turn token-level baseline."""
from __future__ import annotations

import json

import pytest

from elab_hpc.train.config import load_train

TASK_ID = "h-asset_status-0"  # docstore: find an asset, update its status, answer who had it


@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    from arena.tasks.suite import load_suite

    tasks = [t for t in load_suite(split="all") if t["id"] == TASK_ID]
    assert tasks, f"{TASK_ID} is not in the arena suite"
    path = tmp_path_factory.mktemp("grpo") / "tasks.jsonl"
    path.write_text(json.dumps(tasks[0]) + "\n")
    return path


def grpo_cfg(tmp_path, task_file, **extra):
    base = {"output_dir": tmp_path / "out", "grpo.tasks": task_file, "grpo.offer_tools": "gold",
            "grpo.num_generations": 2, "grpo.max_turns": 2, "grpo.max_new_tokens": 32,
            "grpo.max_observation_tokens": 96, "optim.max_steps": 2, "optim.batch_size": 2,
            "optim.lr": 1e-5, "threads": 1, "checkpoint.every_steps": 2,
            # the real tiny model cut to its first 2 layers: real sampling, CPU-fast training steps
            "model.num_layers": 2}
    base.update(extra)
    return load_train("grpo_tiny", [f"{k}={v}" for k, v in base.items()], kind="grpo")


def test_env_mask_zeroes_exactly_the_observation_tokens_of_a_real_episode(tmp_path, task_file):
    """A fixed two-turn policy (tool call, then answer) through the rollout's own Episode code
    on a fresh arena episode: policy tokens are 1, the rendered tool response 0."""
    from elab_hpc.agent.env_adapter import ArenaEnv
    from elab_hpc.eval.rewards import RewardConfig, compute_reward
    from elab_hpc.eval.tasks import ArenaSource
    from elab_hpc.train.grpo import Episode, offered_tools, step_episode
    from elab_hpc.train.models import load_tokenizer

    cfg = grpo_cfg(tmp_path, task_file)
    tok = load_tokenizer(cfg)
    task = json.loads(task_file.read_text())
    env = ArenaEnv(seed=0, scale="small")
    session = env.open(task, task["apps"])
    try:
        ep = Episode(tok, task, session, offered_tools(session, task, "gold"))
        eos = tok.convert_tokens_to_ids("<|im_end|>")
        turns = ['<tool_call>\n{"name": "docstore__find", "arguments": {"collection": "assets", '
                 '"filter": {"asset_tag": "LT-00005"}}}\n</tool_call>', "It was assigned to Wei Tanaka."]
        spans = []
        for text in turns:
            ids = tok(text, add_special_tokens=False)["input_ids"] + [eos]
            start = len(ep.completion_ids)
            got, ended = ep.add_policy_turn(ids, [-0.5] * len(ids), eos)
            spans.append((start, start + len(ids)))
            step_episode(ep, got, ended, 96)
        assert ep.done and ep.turns == 2 and ep.answer == turns[1]
        assert ep.actions == [{"tool": "docstore.find", "args": {"collection": "assets",
                               "filter": {"asset_tag": "LT-00005"}}, "ok": True}]
        mask = ep.env_mask
        assert len(mask) == len(ep.completion_ids) == len(ep.logprobs)
        # the policy's two turns are 1, everything between them (the observation) is 0
        assert all(mask[i] == 1 for a, b in spans for i in range(a, b))
        obs = [t for t, m in zip(ep.completion_ids, mask) if m == 0]
        assert len(obs) == spans[1][0] - spans[0][1] > 0
        obs_text = tok.decode(obs)
        assert obs_text.startswith("\n<|im_start|>") and "<tool_response>" in obs_text
        assert "LT-00005" in obs_text and obs_text.endswith("<|im_start|>assistant\n")
        assert all(lp == 0.0 for lp, m in zip(ep.logprobs, mask) if m == 0)
        # the reward of this episode: right first tool, no update made → the state check fails
        checks = ArenaSource().check(task, session, ep.answer)
        r = compute_reward(task, {"actions": ep.actions, "turns": ep.turns, "format_errors": 0}, checks,
                           RewardConfig(weights=dict(cfg.grpo.reward_weights)))
        assert r.r2 == 1.0 and r.r4 == 1.0 and 0 < r.r1 < 1 and r.r3 == 0.5
    finally:
        session.close()


def test_agentic_grpo_runs_two_steps_with_real_multi_turn_rollouts(tmp_path, task_file):
    from elab_hpc.train.checkpointing import read_metrics
    from elab_hpc.train.grpo import build
    from elab_hpc.train.checkpointing import MetricsLog

    cfg = grpo_cfg(tmp_path, task_file)
    trainer = build(cfg, [MetricsLog(cfg.output_dir)])
    trainer.train()
    assert trainer.state.global_step == 2
    episodes = trainer.elab_rollout.last
    assert len(episodes) == 2  # one group: num_generations episodes of the task
    for e in episodes:
        assert e["task_id"] == TASK_ID and 1 <= e["turns"] <= 2
        assert len(e["env_mask"]) == len(e["completion_ids"])
        assert set(e["reward"]) >= {"r1", "r2", "r3", "r4", "r"}
        if 0 in e["env_mask"]:  # a tool call was made: its result is masked, never trained on
            assert e["actions"] and e["env_mask"][0] == 1
    logged = [r for r in read_metrics(cfg.output_dir) if "reward" in r]
    assert len(logged) == 2
    for k in ("r1", "r2", "r3", "r4"):
        assert f"rewards/{k}/mean" in logged[0], logged[0].keys()


def test_token_level_grpo_baseline_runs_without_an_environment(tmp_path, task_file):
    from elab_hpc.train.checkpointing import read_metrics
    from elab_hpc.train.launch import run_local

    cfg = grpo_cfg(tmp_path, task_file, **{"grpo.mode": "token"})
    result = run_local(cfg, show_progress=False)
    assert result["status"] == "completed" and result["step"] == 2
    logged = [r for r in read_metrics(cfg.output_dir) if "reward" in r]
    assert len(logged) == 2 and "rewards/r1/mean" in logged[0] and "rewards/r4/mean" in logged[0]


def test_vllm_for_agentic_rollouts_is_refused_with_a_clear_message(tmp_path, task_file):
    from elab_hpc.errors import ConfigError
    from elab_hpc.train.grpo import check_vllm

    with pytest.raises(ConfigError, match="grpo.use_vllm"):
        check_vllm(grpo_cfg(tmp_path, task_file, **{"grpo.use_vllm": "true"}))
