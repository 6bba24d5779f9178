"""Agentic GRPO in the evaluator's episode loop (grpo.scaffold=react) with the real tiny model (cut
to 2 layers) and real arena episodes: the prompt is the evaluator's ReAct prompt, the token
sequences rebuild the evaluator's conversation exactly, the recorded sampling logprobs are the
policy's own at those positions, and two GRPO steps train."""
from __future__ import annotations

import json

import pytest

from elab_hpc.train.config import load_train

APPS = "[browser,filesystem,calendar,invoice,mail]"


def react_cfg(tmp_path, **extra):
    base = {"output_dir": tmp_path / "out", "model.name_or_path": "tiny", "model.num_layers": 2,
            "grpo.num_generations": 2, "optim.max_steps": 2, "optim.batch_size": 2, "optim.grad_accum": 1,
            "data.limit": 1, "threads": 1, "checkpoint.every_steps": 2, "lora.last_layers": 1,
            # the quickstart evaluator, shortened: 2 turns of 24 tokens
            "grpo.eval_overrides": "[model=tiny,agent.scaffold=react,agent.max_turns=2,agent.obs_budget_tokens=64,"
                                   "agent.tool_description_chars=60,agent.backend.max_new_tokens=24]"}
    base.update(extra)
    return load_train("grpo_tiny_from_sft", [f"{k}={v}" for k, v in base.items()], kind="grpo")


@pytest.fixture(scope="module")
def rollout_run(tmp_path_factory):
    from elab_hpc.train.grpo import build, prompt_of

    tmp = tmp_path_factory.mktemp("grpo_react")
    cfg = react_cfg(tmp)
    trainer = build(cfg, [])
    task = trainer.elab_rollout.by_prompt[next(iter(trainer.elab_rollout.by_prompt))]
    out = trainer.elab_rollout([prompt_of(task)] * 2, trainer)
    return cfg, trainer, task, out


def test_prompt_is_the_evaluators_react_prompt(rollout_run):
    from elab_hpc.agent import react
    from elab_hpc.agent.backends.hf import render_prompt
    from elab_hpc.agent.env_adapter import ArenaEnv

    cfg, trainer, task, out = rollout_run
    rollout = trainer.elab_rollout
    session = ArenaEnv(seed=0, scale="small").open(task, task["apps"])
    try:
        system = react.system_prompt(session.tools, None, 60)
    finally:
        session.close()
    assert "arguments:" in system and "ANSWER:" in system
    for ep, prompt_ids in zip(rollout.last, out["prompt_ids"]):
        assert ep["messages"][0] == {"role": "system", "content": system}
        assert ep["messages"][1] == {"role": "user", "content": task["intent"]}
        first = render_prompt(rollout.tok, ep["messages"][:2] + [{"role": "assistant", "content": "Thought:"}], None)
        assert first.endswith("<|im_start|>assistant\nThought:")
        assert rollout.tok.decode(prompt_ids) == first


def test_tokens_rebuild_the_evaluators_conversation(rollout_run):
    from elab_hpc.agent.backends.hf import render_prompt

    cfg, trainer, task, out = rollout_run
    tok = trainer.elab_rollout.tok
    for i, ep in enumerate(trainer.elab_rollout.last):
        comp, mask, lps = out["completion_ids"][i], out["env_mask"][i], out["logprobs"][i]
        assert len(comp) == len(mask) == len(lps) > 0
        assert all(lp == 0.0 for lp, m in zip(lps, mask) if m == 0)
        assert all(lp <= 0.0 for lp, m in zip(lps, mask) if m == 1) and any(m == 1 for m in mask)
        turns = [j for j, m in enumerate(ep["messages"]) if m["role"] == "assistant"]
        assert len(turns) == ep["turns"] >= 1
        # the whole sequence = the evaluator's prompt of the last turn + what the policy kept of it
        full = tok.decode(out["prompt_ids"][i] + comp)
        last = render_prompt(tok, ep["messages"][:turns[-1]] + [{"role": "assistant", "content": "Thought:"}], None)
        assert full.startswith(last)
        assert (ep["messages"][turns[-1]]["content"][len("Thought:"):] + "<|im_end|>").startswith(full[len(last):])
        if len(turns) > 1:  # the observation between turns is environment text, never trained on
            env_text = tok.decode([t for t, m in zip(comp, mask) if m == 0])
            assert env_text.count("<|im_start|>user\n") == len(turns) - 1
            assert "Observation:" in env_text and env_text.endswith("<|im_start|>assistant\nThought:")


def test_recorded_logprobs_are_the_policys_own(rollout_run):
    """Re-score each episode with the policy in one forward pass: at every policy token the
    logprob recorded while sampling agrees (so tokens, positions and masks line up)."""
    import torch

    cfg, trainer, task, out = rollout_run
    model = trainer.accelerator.unwrap_model(trainer.model)
    model.eval()
    for i in range(len(out["prompt_ids"])):
        p, comp = out["prompt_ids"][i], out["completion_ids"][i]
        ids = torch.tensor([p + comp])
        with torch.no_grad():
            logits = model(ids).logits[0, len(p) - 1:-1].float()
        own = torch.log_softmax(logits, -1).gather(1, torch.tensor(comp)[:, None]).squeeze(1)
        got = torch.tensor(out["logprobs"][i])
        sel = torch.tensor(out["env_mask"][i]) == 1
        assert torch.allclose(own[sel], got[sel], atol=2e-3), (own[sel] - got[sel]).abs().max()


def test_react_grpo_trains_two_steps_and_logs_rollouts(tmp_path):
    from elab_hpc.train.checkpointing import MetricsLog, read_metrics
    from elab_hpc.train.grpo import build

    cfg = react_cfg(tmp_path)
    trainer = build(cfg, [MetricsLog(cfg.output_dir)])
    trainer.train()
    assert trainer.state.global_step == 2
    logged = [r for r in read_metrics(cfg.output_dir) if "reward" in r]
    assert len(logged) == 2 and all(f"rewards/{k}/mean" in logged[0] for k in ("r1", "r2", "r3", "r4"))
    rows = [json.loads(x) for x in (tmp_path / "out" / "rollouts.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(r["episodes"] == 2 and r["generated_tokens"] > 0 for r in rows)
    assert all(0.0 <= r["mean_r"] <= 1.0 for r in rows)


def test_react_scaffold_needs_the_evaluator_and_its_weights(tmp_path):
    from elab_hpc.errors import ConfigError
    from elab_hpc.train.grpo import build

    with pytest.raises(ConfigError, match="grpo.scaffold=react"):
        react_cfg(tmp_path, **{"grpo.eval_config": "''"})
    with pytest.raises(ConfigError, match="grpo.scaffold"):
        react_cfg(tmp_path, **{"grpo.scaffold": "textual"})
    cfg = react_cfg(tmp_path, **{"grpo.reward_weights": "{r1: 0.5, r3: 0.5}"})
    with pytest.raises(ConfigError, match="differ from the evaluator"):
        build(cfg, [])
    cfg = react_cfg(tmp_path, **{"grpo.eval_overrides": "[model=tiny,agent.scaffold=fc]"})
    with pytest.raises(ConfigError, match="ReAct scaffold"):
        build(cfg, [])
