"""Agentic GRPO rollouts through the evaluator's own episode loop (`grpo.scaffold=react`).

The policy is wrapped as a Backend (`PolicyBackend`) and driven by `elab_hpc.agent.runner.Runner`
with the evaluator's agent config (`grpo.eval_config` + `grpo.eval_overrides`): the same ReAct
system prompt (`react.system_prompt`, tool descriptions cut to `tool_description_chars`), the
same `Thought:` prefill, stop string, observation normalization to `obs_budget_tokens`, format
errors, stop rules and checks. Only sampling differs (`grpo.temperature` instead of greedy).
Training episodes are then exactly what evaluation runs, which the fc rollout of `grpo.py` (native
tool calls, another prompt) is not.

The backend records every sampled continuation (token ids, sampling logprobs) under the prompt
text it continued. A later turn's prompt is not re-tokenized: its tokens are the earlier context,
the policy's sampled tokens as far as the episode loop kept them (env_mask 1), then the text the
chat template puts before the next turn — the observation, the next assistant header and the
prefill — tokenized on its own (env_mask 0). So the policy samples from, and trains on, one and
the same token sequence, whose text is the evaluator's prompt of that turn.
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional

from elab_hpc.agent import react, templates
from elab_hpc.agent.backends.base import AssistantMessage, Backend, GenParams, Usage, cut_at_stop
from elab_hpc.agent.backends.hf import render_prompt
from elab_hpc.errors import ConfigError


def eval_settings(c):
    """The evaluator config the react rollout follows (its agent section and rewards)."""
    from elab_hpc.eval.config import load_eval_config
    from elab_hpc.train.config import resolve_path

    return load_eval_config(resolve_path(c.grpo.eval_config), list(c.grpo.eval_overrides))


def check_reward_weights(c, ev) -> None:
    """TRL weighs the reward components with grpo.reward_weights; they must be the evaluator's."""
    mine = {k: float(v) for k, v in c.grpo.reward_weights.items() if v}
    theirs = {k: float(v) for k, v in ev.rewards.weights.items() if v}
    if mine != theirs:
        raise ConfigError(f"grpo.reward_weights {mine} differ from the evaluator's rewards.weights {theirs} "
                          f"({c.grpo.eval_config}); GRPO would optimize another reward than the one evaluated")


class PolicyBackend(Backend):
    """The training policy behind the Backend interface: left-padded batched sampling, like the
    evaluator's hf backend, keeping token ids and logprobs of every continuation."""

    supports_prefill = True

    def __init__(self, tok, params: GenParams, batch_size: int, model_id: str = "policy"):
        self.tokenizer, self.params, self.batch_size, self.model_id = tok, params, batch_size, model_id
        self.model = None  # set before every rollout (the trainer's current policy)
        self.eos_id = tok.convert_tokens_to_ids("<|im_end|>")
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else self.eos_id
        self.records: Dict[str, List[Dict[str, Any]]] = defaultdict(list)  # prompt text → continuations
        # prompt text → the token sequence sampled from: {ids, plen (episode prompt), mask, logprobs}
        self.contexts: Dict[str, Dict[str, Any]] = {}
        self.generated_tokens = 0
        self.generate_s = 0.0

    def default_params(self) -> GenParams:
        return GenParams(self.params.max_new_tokens, self.params.temperature, 1.0, list(self.params.stop))

    def generate(self, batch, tools=None, params: Optional[GenParams] = None) -> List[AssistantMessage]:
        params = params or self.default_params()
        texts = [render_prompt(self.tokenizer, conv, tools) for conv in batch]
        order = sorted(range(len(batch)), key=lambda i: len(texts[i]))  # similar lengths together
        out: List[Optional[AssistantMessage]] = [None] * len(batch)
        for i in range(0, len(order), self.batch_size):
            idx = order[i:i + self.batch_size]
            for j, msg in zip(idx, self._sample([texts[j] for j in idx], params)):
                out[j] = msg
        return out  # type: ignore[return-value]

    def _length(self, gen: List[int], stop: List[str]) -> tuple:
        """How many tokens the row really generated (finished rows are padded) and whether it
        ended with end-of-turn: up to the first <|im_end|>, or the token completing a stop string."""
        end = gen.index(self.eos_id) + 1 if self.eos_id in gen else len(gen)
        if stop and cut_at_stop(self.tokenizer.decode(gen[:end], skip_special_tokens=True), stop)[1]:
            for k in range(1, end + 1):
                if cut_at_stop(self.tokenizer.decode(gen[:k], skip_special_tokens=True), stop)[1]:
                    return k, False
        return end, end > 0 and gen[end - 1] == self.eos_id

    def context(self, text: str) -> Dict[str, Any]:
        """The tokens of a prompt text. A later turn's prompt extends an earlier prompt of its
        episode by the policy's own sampled tokens (as far as the episode loop kept them) and the
        environment's text, tokenized on its own: so every context, and the training sequence
        built from the last one, holds the very ids the policy sampled, never a re-tokenization."""
        if text in self.contexts:
            return self.contexts[text]
        prev = max((p for p in self.records if text.startswith(p)), key=len, default=None)
        if prev is None:
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            ctx = {"ids": ids, "plen": len(ids), "mask": [], "logprobs": []}
        else:
            base, rest = self.contexts[prev], text[len(prev):]
            k, rec = max(((kept_prefix(self.tokenizer, r["ids"], rest), r) for r in self.records[prev]),
                         key=lambda x: x[0])
            piece = self.tokenizer.decode(rec["ids"][:k], skip_special_tokens=False)
            env = self.tokenizer(rest[len(piece):], add_special_tokens=False)["input_ids"]
            ctx = {"ids": base["ids"] + rec["ids"][:k] + env, "plen": base["plen"],
                   "mask": base["mask"] + [1] * k + [0] * len(env),
                   "logprobs": base["logprobs"] + rec["logprobs"][:k] + [0.0] * len(env)}
        self.contexts[text] = ctx
        return ctx

    def _sample(self, texts: List[str], params: GenParams) -> List[AssistantMessage]:
        import torch

        t0 = time.perf_counter()
        enc = [self.context(t)["ids"] for t in texts]
        width = max(len(e) for e in enc)
        ids = torch.tensor([[self.pad_id] * (width - len(e)) + e for e in enc], device=self.model.device)
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in enc], device=self.model.device)
        kw: Dict[str, Any] = {}
        if params.stop:
            kw.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        with torch.no_grad():
            out = self.model.generate(ids, attention_mask=mask, do_sample=True, temperature=params.temperature,
                                      top_k=0, top_p=1.0, max_new_tokens=params.max_new_tokens,
                                      eos_token_id=self.eos_id, pad_token_id=self.pad_id, output_scores=True,
                                      return_dict_in_generate=True, **kw)
            seqs = out.sequences[:, width:]
            # the scores are the processed (temperature-scaled) logits each token was sampled from
            logps = torch.stack([torch.log_softmax(s.float(), -1).gather(1, seqs[:, k:k + 1]).squeeze(1)
                                 for k, s in enumerate(out.scores)], 1) if out.scores else seqs.float()
        msgs = []
        for r, text in enumerate(texts):
            gen = seqs[r].tolist()
            n, ended = self._length(gen, params.stop)
            gen = gen[:n]
            self.generated_tokens += n
            body = self.tokenizer.decode(gen[:-1] if ended else gen, skip_special_tokens=True)
            content, stopped = cut_at_stop(body, params.stop)
            self.records[text].append({"ids": gen, "logprobs": logps[r, :n].tolist(), "ended": ended,
                                       "content": content})
            msgs.append(AssistantMessage(content=content, usage=Usage(len(enc[r]), n),
                                         finish_reason="stop" if ended or stopped else "length"))
        self.generate_s += time.perf_counter() - t0
        return msgs


def kept_prefix(tok, ids: List[int], text: str) -> int:
    """The longest prefix of `ids` whose decoded text is a prefix of `text` (what the episode
    loop kept of a continuation after cutting a stop string, a hallucinated Observation or
    trailing whitespace)."""
    best = 0
    for k in range(1, len(ids) + 1):
        piece = tok.decode(ids[:k], skip_special_tokens=False)
        if text.startswith(piece):
            best = k
        elif len(piece) > len(text):
            break
    return best


def episode_tokens(tok, backend: PolicyBackend, messages: List[Dict[str, Any]], prefix: str) -> Dict[str, Any]:
    """One finished episode's conversation as GRPO token lists (prompt_ids, completion_ids,
    logprobs, env_mask): the context its last turn was sampled from plus what the episode loop
    kept of that turn."""
    turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if not turns:
        raise RuntimeError("an episode without a policy turn")
    conv = messages[:turns[-1]] + ([{"role": "assistant", "content": prefix}] if prefix else [])
    text = render_prompt(tok, conv, None)
    ctx = backend.contexts.get(text)
    kept = messages[turns[-1]]["content"]
    pending = backend.records.get(text) or []
    rec = next((r for r in pending if react.strip_hallucinated(prefix + r["content"]).rstrip() == kept), None)
    if ctx is None or rec is None:
        raise RuntimeError(f"turn {len(turns)}: no recorded continuation produced {kept[:80]!r}")
    pending.remove(rec)  # each recorded sample belongs to one episode
    body = kept[len(prefix):] if kept.startswith(prefix) else kept
    k = kept_prefix(tok, rec["ids"], body + "<|im_end|>")  # its own end-of-turn, when nothing was cut
    return {"prompt_ids": ctx["ids"][:ctx["plen"]], "completion_ids": ctx["ids"][ctx["plen"]:] + rec["ids"][:k],
            "logprobs": ctx["logprobs"] + rec["logprobs"][:k], "env_mask": ctx["mask"] + [1] * k}


class ReactRollout:
    """`rollout_func` for GRPOTrainer: every generation is one evaluator episode (Runner + ReAct)
    in a fresh arena episode, sampled from the current policy."""

    def __init__(self, c, tasks: List[Dict[str, Any]], path, prompt_key):
        from elab_hpc.eval.rewards import check_reward_config
        from elab_hpc.eval.tasks import ArenaSource
        from elab_hpc.train.models import load_tokenizer

        self.c = c
        self.ev = eval_settings(c)
        if self.ev.agent.scaffold != "react":
            raise ConfigError(f"grpo.eval_config: agent.scaffold is '{self.ev.agent.scaffold}'; "
                              "grpo.scaffold=react needs the evaluator's ReAct scaffold")
        check_reward_weights(c, self.ev)
        check_reward_config(self.ev.rewards, "grpo.eval_config rewards")
        # the evaluator's tokenizer setup (hf backend): the model's files, its chat template choice
        self.tok = load_tokenizer(c, path)
        templates.apply(self.tok, self.ev.agent.backend.chat_template)
        b = self.ev.agent.backend
        self.backend = PolicyBackend(self.tok, GenParams(b.max_new_tokens, c.grpo.temperature, 1.0, []),
                                     b.batch_size)
        self.by_prompt = {json.dumps(prompt_key(t)): t for t in tasks}
        self.source = ArenaSource()
        self.env = self.source.env(self.ev.seed, self.ev.scale)
        self.last: List[Dict[str, Any]] = []
        self.stats: List[Dict[str, Any]] = []  # per rollout call: episodes, tokens, seconds

    def __call__(self, prompts: List[Any], trainer) -> Dict[str, Any]:
        from elab_hpc.agent.runner import Runner
        from elab_hpc.eval.rewards import compute_reward

        t0 = time.perf_counter()
        tasks, seen = [], defaultdict(int)
        wanted = []  # (task id, occurrence) per prompt: the generations of one task get distinct seeds
        for p in prompts:
            key = json.dumps(p)
            if key not in self.by_prompt:
                raise RuntimeError("rollout_func got a prompt that is not one of the GRPO tasks")
            t = self.by_prompt[key]
            if not seen[t["id"]]:
                tasks.append(t)
            wanted.append((t["id"], seen[t["id"]]))
            seen[t["id"]] += 1
        by_id = {t["id"]: t for t in tasks}
        if len(set(seen.values())) != 1:
            raise RuntimeError(f"rollout_func: tasks came unevenly often {dict(seen)}; expected whole groups")

        def on_finish(log, session) -> None:
            log.extra["checks"] = self.source.check(by_id[log.task_id], session, log.answer or "")

        model = trainer.accelerator.unwrap_model(trainer.model)
        was_training = model.training
        model.eval()
        self.backend.model = model
        self.backend.records.clear()
        self.backend.contexts.clear()
        gen0, gs0 = self.backend.generated_tokens, self.backend.generate_s
        try:
            runner = Runner(self.backend, self.ev.agent, self.env, cache=None, on_finish=on_finish, progress=False)
            logs = {(lg.task_id, lg.seed): lg for lg in runner.run(tasks, seeds=range(next(iter(seen.values()))))}
        finally:
            model.train(was_training)
        prefix = runner.prefix
        episodes = []
        for tid, k in wanted:
            lg = logs[(tid, k)]
            d = lg.to_dict()
            reward = compute_reward(by_id[tid], d, list(lg.extra.get("checks") or []), self.ev.rewards).to_dict()
            toks = episode_tokens(self.tok, self.backend, lg.messages, prefix)
            checks = lg.extra.get("checks") or []
            episodes.append({**toks, "task_id": tid, "turns": lg.turns, "actions": lg.actions, "answer": lg.answer,
                             "stop_reason": lg.stop_reason, "reward": reward,
                             "success": bool(checks) and all(ch["passed"] for ch in checks),
                             "messages": lg.messages})
        self.last = episodes
        # step = optimizer steps done before this rollout
        stat = {"step": trainer.state.global_step, "episodes": len(episodes),
                "generated_tokens": self.backend.generated_tokens - gen0,
                "generate_s": round(self.backend.generate_s - gs0, 3), "rollout_s": round(time.perf_counter() - t0, 3),
                "success": sum(e["success"] for e in episodes),
                **{f"mean_{k}": sum(e["reward"][k] for e in episodes) / len(episodes)
                   for k in ("r", "r1", "r2", "r3", "r4")},
                "tasks": sorted(by_id)}
        self.stats.append(stat)
        if trainer.accelerator.is_main_process:  # throughput and rewards per rollout, for reports
            path = Path(self.c.output_dir) / "rollouts.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as f:
                f.write(json.dumps(stat) + "\n")
        return {"prompt_ids": [e["prompt_ids"] for e in episodes],
                "completion_ids": [e["completion_ids"] for e in episodes],
                "logprobs": [e["logprobs"] for e in episodes],
                "env_mask": [e["env_mask"] for e in episodes],
                "reward_parts": [e["reward"] for e in episodes]}
