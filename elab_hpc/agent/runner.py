"""The episode loop for both scaffolds, many episodes in lockstep.

    runner = Runner(backend, agent_cfg, ArenaEnv(seed=0), cache=EpisodeCache("runs/episodes"))
    logs = runner.run([AgentTask(id="t1", intent="Close issue 4 of project web", apps=["gitlab"])])

Each round, every unfinished episode's conversation goes to `backend.generate` in one batch (one
batch per distinct tool set for function calling). An episode ends on a final answer
(`ANSWER: ...` in ReAct, a plain assistant message in function calling), after `max_turns`
model turns, when the same call failed `max_repeated_failures` times in a row, or when the
conversation would outgrow `max_context_tokens`. Every observation is normalized to
`obs_budget_tokens`. Malformed output is answered with a format error (as an Observation) and
counted in `format_errors` (the r4 reward's input).

The EpisodeLog (messages, tools, actions [{tool, args, ok, result|error}], answer, turns,
tokens, timings, format_errors, stop_reason, final_state_hash) is what evaluation and GRPO
consume; `on_finish(log, session)` runs before the environment closes (e.g. executing checks)
and what it stores in `log.extra` is cached with the episode.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from elab_hpc.agent import fc, react
from elab_hpc.agent.backends.base import AssistantMessage, Backend, GenParams
from elab_hpc.agent.cache import EpisodeCache, episode_key
from elab_hpc.agent.config import AgentConfig
from elab_hpc.agent.env_adapter import Env, EnvSession
from elab_hpc.env.observation import normalize, render, token_counter

FC_SYSTEM = ("You are an assistant for a company's enterprise applications. Use the tools to carry out the "
             "user's request. When it is done, reply with the final answer in plain text.")
# fields that change how work is scheduled or requests travel, not what the model answers
OPERATIONAL = ("base_url", "api_key_env", "timeout_s", "max_retries", "concurrency", "batch_size", "device",
               "cpu_threads")
OPERATIONAL_AGENT = ("parallel_episodes",)


@dataclass
class AgentTask:
    id: str
    intent: str
    apps: List[str] = field(default_factory=list)  # tools offered (empty = the agent config's / all)
    category: str = ""

    @classmethod
    def from_any(cls, t: Any) -> "AgentTask":
        """A synthesized Task, a task dict (`id`, `intent`, optional `apps`) or an AgentTask."""
        if isinstance(t, cls):
            return t
        get = t.get if isinstance(t, dict) else (lambda k, d=None: getattr(t, k, d))
        return cls(id=str(get("id")), intent=str(get("intent")), apps=list(get("apps") or []),
                   category=str(get("category") or ""))


@dataclass
class EpisodeLog:
    id: str  # the cache key
    task_id: str
    seed: int
    model: str
    scaffold: str
    config_hash: str
    intent: str = ""
    messages: List[Dict[str, Any]] = field(default_factory=list)
    tools: List[Dict[str, Any]] = field(default_factory=list)
    actions: List[Dict[str, Any]] = field(default_factory=list)
    answer: Optional[str] = None
    turns: int = 0
    stop_reason: str = ""  # answer | max_turns | repeated_failure | token_budget | error
    format_errors: int = 0
    tokens: Dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0, "context": 0})
    timings: Dict[str, float] = field(default_factory=lambda: {"generate_s": 0.0, "tool_s": 0.0, "total_s": 0.0})
    final_state_hash: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)
    cached: bool = False  # loaded from the cache in this run (not stored)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d.pop("cached")
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "EpisodeLog":
        known = set(cls.__dataclass_fields__) - {"cached"}
        return cls(**{k: v for k, v in d.items() if k in known})


def scaffold_hash(cfg: AgentConfig, env_fingerprint: str) -> str:
    """The config part of the cache key: the agent config without transport settings, plus
    the environment's identity."""
    d = asdict(cfg)
    for k in OPERATIONAL:
        d["backend"].pop(k, None)
    for k in OPERATIONAL_AGENT:
        d.pop(k, None)
    blob = json.dumps({"agent": d, "env": env_fingerprint}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class _Episode:
    """One episode in flight."""

    def __init__(self, log: EpisodeLog, task: AgentTask, session: EnvSession):
        self.log = log
        self.task = task
        self.session = session
        self.done = False
        self.last_failure: Optional[str] = None
        self.failure_streak = 0
        self.t0 = time.perf_counter()

    @property
    def tools_key(self) -> tuple:
        return tuple(t["function"]["name"] for t in self.log.tools)


class Runner:
    def __init__(self, backend: Backend, cfg: AgentConfig, env: Env, cache: Optional[EpisodeCache] = None,
                 on_finish: Optional[Callable[[EpisodeLog, EnvSession], None]] = None, progress: bool = True):
        self.backend = backend
        self.cfg = cfg
        self.env = env
        self.cache = cache
        self.on_finish = on_finish
        self.progress = progress
        self.count = token_counter(getattr(backend, "tokenizer", None))
        self.config_hash = scaffold_hash(cfg, getattr(env, "fingerprint", ""))
        self.generations = 0  # generate() calls made (0 on a fully cached rerun)

    # -- public -------------------------------------------------------------------------
    def run(self, tasks: Sequence[Any], seeds: Sequence[int] = (0,)) -> List[EpisodeLog]:
        """One episode per (task, seed), in input order; cached ones are loaded, not rerun."""
        todo: List[tuple] = []
        results: Dict[str, EpisodeLog] = {}
        order: List[str] = []
        for t in tasks:
            task = AgentTask.from_any(t)
            for seed in seeds:
                key = episode_key(self.backend.model_id, task.id, seed, self.config_hash)
                order.append(key)
                if key in results:
                    continue
                hit = self.cache.get(key) if self.cache else None
                if hit is not None:
                    log = EpisodeLog.from_dict(hit)
                    log.cached = True
                    results[key] = log
                else:
                    todo.append((key, task, seed))
                    results[key] = None  # type: ignore[assignment]
        wave = self.cfg.parallel_episodes
        for i in range(0, len(todo), wave):
            for log in self._run_batch(todo[i:i + wave]):
                results[log.id] = log
        return [results[k] for k in order]

    # -- the loop -------------------------------------------------------------------------
    def _start(self, key: str, task: AgentTask, seed: int) -> _Episode:
        apps = task.apps or self.cfg.apps
        session = self.env.open(task, apps)
        log = EpisodeLog(id=key, task_id=task.id, seed=seed, model=self.backend.model_id,
                         scaffold=self.cfg.scaffold, config_hash=self.config_hash, intent=task.intent,
                         tools=list(session.tools))
        if self.cfg.scaffold == "react":
            system = react.system_prompt(session.tools, self.cfg.system_prompt, self.cfg.tool_description_chars,
                                         self.cfg.tool_listing)
        else:
            system = (self.cfg.system_prompt.strip() + "\n\n" if self.cfg.system_prompt else "") + FC_SYSTEM
        log.messages = [{"role": "system", "content": system}, {"role": "user", "content": task.intent}]
        return _Episode(log, task, session)

    def _params(self) -> GenParams:
        p = self.backend.default_params()
        if self.cfg.scaffold == "react":
            p.stop = list(react.STOP[:1])
        return p

    def _run_batch(self, todo: List[tuple]) -> List[EpisodeLog]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        episodes = [self._start(*item) for item in todo]
        params = self._params()
        with Progress(TextColumn("[bold]episodes"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("turn {task.fields[turn]}"), TimeElapsedColumn(),
                      disable=not self.progress, transient=True) as bar:
            job = bar.add_task("episodes", total=len(episodes), turn=0)
            turn = 0
            try:
                while True:
                    active = [e for e in episodes if not e.done]
                    if not active:
                        break
                    turn += 1
                    bar.update(job, turn=turn)
                    groups: Dict[tuple, List[_Episode]] = {}
                    for e in active:
                        groups.setdefault(e.tools_key if self.cfg.scaffold == "fc" else (), []).append(e)
                    for group in groups.values():
                        tools = group[0].log.tools if self.cfg.scaffold == "fc" else None
                        t0 = time.perf_counter()
                        outs = self.backend.generate([self._prompt(e) for e in group], tools, params)
                        self.generations += 1
                        share = (time.perf_counter() - t0) / len(group)
                        for e, out in zip(group, outs):
                            e.log.timings["generate_s"] += share
                            self._advance(e, out, params)
                            if e.done:
                                self._finish(e)
                                bar.advance(job)
            finally:
                for e in episodes:  # an exception mid-run must not leak open episodes
                    if not e.done:
                        e.log.stop_reason = "error"
                        e.done = True
                        e.session.close()
        return [e.log for e in episodes]

    @property
    def prefix(self) -> str:
        if self.cfg.scaffold == "react" and getattr(self.backend, "supports_prefill", False):
            return self.cfg.react_prefix
        return ""

    def _prompt(self, e: _Episode) -> List[Dict[str, Any]]:
        if self.prefix:
            return e.log.messages + [{"role": "assistant", "content": self.prefix}]
        return e.log.messages

    def _finish(self, e: _Episode) -> None:
        log = e.log
        try:
            log.final_state_hash = e.session.state_hash()
            if self.on_finish is not None:
                self.on_finish(log, e.session)
        finally:
            e.session.close()
        log.timings["total_s"] = time.perf_counter() - e.t0
        if self.cache is not None:
            self.cache.put(log.to_dict())

    def _advance(self, e: _Episode, out: AssistantMessage, params: GenParams) -> None:
        log = e.log
        log.turns += 1
        log.tokens["prompt"] += out.usage.prompt_tokens
        log.tokens["completion"] += out.usage.completion_tokens
        context = out.usage.prompt_tokens + out.usage.completion_tokens
        if self.cfg.scaffold == "react":
            added = self._react_step(e, out)
        else:
            added = self._fc_step(e, out)
        if e.done:
            log.tokens["context"] = context
            return
        log.tokens["context"] = context + added
        if log.turns >= self.cfg.max_turns:
            self._stop(e, "max_turns")
        elif e.failure_streak >= self.cfg.max_repeated_failures:
            self._stop(e, "repeated_failure")
        elif log.tokens["context"] + params.max_new_tokens > self.cfg.max_context_tokens:
            self._stop(e, "token_budget")

    def _stop(self, e: _Episode, reason: str) -> None:
        e.log.stop_reason = reason
        e.done = True

    @staticmethod
    def _note(e: _Episode, ok: bool, signature: str) -> None:
        """Track consecutive identical failures (a failing call, or the same malformed output)."""
        if ok:
            e.failure_streak, e.last_failure = 0, None
        elif signature == e.last_failure:
            e.failure_streak += 1
        else:
            e.failure_streak, e.last_failure = 1, signature

    def _execute(self, e: _Episode, tool: str, args: Dict[str, Any]) -> str:
        """Run one call, log the action, track repeated failures; the observation text."""
        t0 = time.perf_counter()
        obs = e.session.call(tool, args)
        e.log.timings["tool_s"] += time.perf_counter() - t0
        ok = bool(obs.get("ok"))
        action: Dict[str, Any] = {"tool": obs.get("tool", tool), "args": args, "ok": ok}
        if ok:
            action["result"] = obs.get("result")
        else:
            action["error"] = obs.get("error")
        e.log.actions.append(action)
        self._note(e, ok, json.dumps([tool, args], sort_keys=True, default=str))
        payload = obs.get("result") if ok else {"error": obs.get("error")}
        return render(normalize(payload, budget=self.cfg.obs_budget_tokens, tokenizer=self.backend.tokenizer,
                                ok=ok))

    def _react_step(self, e: _Episode, out: AssistantMessage) -> int:
        text = react.strip_hallucinated(self.prefix + out.content).rstrip()
        e.log.messages.append({"role": "assistant", "content": text})
        step = react.parse(text)
        if step.kind == "answer":
            e.log.answer = step.answer
            self._stop(e, "answer")
            return 0
        if step.kind == "error":
            e.log.format_errors += 1
            self._note(e, False, "format:" + text)
            reply = react.format_error_text(step.error or "unreadable output")
        else:
            reply = react.observation_text(self._execute(e, step.tool or "", step.args or {}))
        e.log.messages.append({"role": "user", "content": reply})
        return self.count(reply)

    def _fc_step(self, e: _Episode, out: AssistantMessage) -> int:
        msg: Dict[str, Any] = {"role": "assistant", "content": out.content}
        if out.tool_calls:
            msg["tool_calls"] = fc.to_message_calls(out.tool_calls)
        e.log.messages.append(msg)
        added = 0
        for call in out.tool_calls:
            text = self._execute(e, call.name, call.arguments or {})
            e.log.messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": text})
            added += self.count(text)
        if out.format_error:
            e.log.format_errors += 1
            self._note(e, False, "format:" + out.format_error)
            reply = f"Format error: {out.format_error}. Call a tool as <tool_call>{{\"name\": ..., " \
                    "\"arguments\": {...}}</tool_call>, or reply with the final answer in plain text."
            e.log.messages.append({"role": "user", "content": reply})
            return added + self.count(reply)
        if out.tool_calls:
            return added
        answer = out.content.strip()
        if not answer:
            e.log.format_errors += 1
            reply = "Format error: empty reply. Call a tool or reply with the final answer in plain text."
            e.log.messages.append({"role": "user", "content": reply})
            return self.count(reply)
        e.log.answer = answer[len("ANSWER:"):].strip() if answer.upper().startswith("ANSWER:") else answer
        self._stop(e, "answer")
        return 0
