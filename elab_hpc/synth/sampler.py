"""Constraint-aware trajectory sampling: depth-first walks over the tool graph, executed.

    ctx = SynthContext.build(registry, world)          # harvest + graph, once per process
    sampler = Sampler(ctx, SamplerConfig())
    for traj in sampler.run(n=100, seed=0): ...

Each walk starts at an entry node (CREATE / LIST / SEARCH, GET without required parameters) in a
fresh episode. At each step it picks a successor along graph edges (preferring those whose
inputs local memory can satisfy, i.e. real data flow), fills its arguments (args.py) and
executes it. A failed call leaves no trace in the state (the arena rolls it back) and is kept as
a failed attempt (a DPO negative); the walk then tries the next candidate (up to `branching`),
and stops when none works. With `require_link`, a step after the first must take a value from
(or mention) an earlier step's output, so every trajectory is one connected piece of work.

A finished walk is composed into a task (compose.py); it is kept only if its checks pass on the
state it produced, and checks that already hold on the untouched state are dropped (they would
not tell a done task from an undone one). Calls whose arguments fail the tool's JSON schema are
never made, so every emitted call is schema-valid.

"Fresh episode": by default one episode is rolled back to the template after each walk
(`reuse_episode`), which a test shows gives exactly the trajectories new episodes give.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

from elab_hpc.env.checks import run_checks
from elab_hpc.synth.args import ArgFiller, Values, schema_problem
from elab_hpc.synth.compose import TemplateComposer
from elab_hpc.synth.config import SamplerConfig
from elab_hpc.synth.graph import ToolGraph
from elab_hpc.synth.memory import LocalMemory, Memory, SlotMap, entity_of, harvest, is_reference
from elab_hpc.synth.types import Step, Trajectory


GIVE_UP_AFTER = 6  # attempts without one valid walk before a start node is skipped for the round


@dataclass
class SynthContext:
    """Everything sampling needs, built once per process: registry, world, global memory, graph."""

    registry: Any
    world: Any
    slotmap: SlotMap
    values: Values
    memory: Memory
    observed: Dict[str, Set[str]]
    filler: ArgFiller
    graph: ToolGraph
    harvest_calls: int = 0
    build_s: float = 0.0

    @classmethod
    def build(cls, registry: Any, world: Any, values: Optional[Values] = None, seed: int = 0,
              exclude_tools: Optional[List[str]] = None, exclude_apps: Optional[List[str]] = None,
              optional_prob: float = 0.35) -> "SynthContext":
        t0 = time.perf_counter()
        slotmap = SlotMap()
        values = values or Values.load()
        memory = Memory()
        filler = ArgFiller(slotmap, memory, values, today=world.now, optional_prob=optional_prob)

        def fill(action: Any, rng: random.Random) -> Optional[Dict[str, Any]]:
            got = filler.fill(action, rng)
            return got.args if got else None

        skip = set(exclude_tools or [])
        actions = [a for a in registry if a.name not in skip and a.app not in set(exclude_apps or [])
                   and a.app in world.apps]
        h = harvest(actions, world, slotmap, fill=fill, rounds=3, seed=seed, memory=memory)
        graph = ToolGraph.build(actions, h.observed, slotmap, is_fresh=filler.is_fresh)
        return cls(registry, world, slotmap, values, memory, h.observed, filler, graph, h.calls,
                   time.perf_counter() - t0)


_CONTEXTS: Dict[Tuple[Any, ...], SynthContext] = {}


def load_context(seed: int = 0, scale: str = "small", apps: Optional[List[str]] = None,
                 exclude_tools: Optional[List[str]] = None, exclude_apps: Optional[List[str]] = None,
                 surface: str = "") -> SynthContext:
    """The SynthContext of an arena world (registry by MCP discovery, harvest, graph), built once
    per process and argument set: discovery takes about a second, the harvest a few. `surface`
    (a change config) samples the changed tool surface of that world (elab_hpc.adapt.surface)."""
    key = (seed, scale, tuple(apps or ()), tuple(exclude_tools or ()), tuple(exclude_apps or ()), surface)
    if key not in _CONTEXTS:
        from elab_hpc.agent.env_adapter import ArenaEnv

        env = ArenaEnv(seed=seed, scale=scale, apps=list(apps) if apps else None, surface=surface)
        _CONTEXTS[key] = SynthContext.build(env.registry, env.world, seed=seed, exclude_tools=exclude_tools,
                                            exclude_apps=exclude_apps)
    return _CONTEXTS[key]


@dataclass
class Walk:
    steps: List[Step] = field(default_factory=list)
    failed: List[Dict[str, Any]] = field(default_factory=list)


def trajectory_id(steps: List[Step]) -> str:
    blob = json.dumps([[s.tool, s.args] for s in steps], sort_keys=True, default=str)
    return "t" + hashlib.sha1(blob.encode()).hexdigest()[:16]


class Sampler:
    def __init__(self, ctx: SynthContext, cfg: Optional[SamplerConfig] = None, composer: Any = None,
                 source: str = "synth"):
        self.ctx = ctx
        self.cfg = cfg or SamplerConfig()
        self.ctx.filler.optional_prob = self.cfg.optional_arg_prob
        self.composer = composer or TemplateComposer(ctx)
        self.source = source
        excluded = set(self.cfg.exclude_tools)
        self.actions = {a.name: a for a in ctx.registry if a.name in ctx.graph.g and a.name not in excluded
                        and a.app not in set(self.cfg.exclude_apps)}
        self.focus = set(self.cfg.focus_tools) & set(self.actions)
        if self.cfg.focus_tools:
            near = self._neighbourhood(self.focus, self.cfg.focus_hops)
            self.actions = {n: a for n, a in self.actions.items() if n in near}
        self.entries = [n for n in ctx.graph.entry_nodes() if n in self.actions]
        self.stats: Dict[str, int] = defaultdict(int)
        self._episode: Any = None
        self._untouched: Any = None
        self._succ: Dict[str, List[Tuple[str, List[str]]]] = {}

    def _neighbourhood(self, tools: Set[str], hops: int) -> Set[str]:
        """`tools` and every tool within `hops` edges of them in the tool graph (either direction)."""
        g = self.ctx.graph.g
        near, frontier = set(tools), set(tools)
        for _ in range(hops):
            frontier = {m for n in frontier for m in list(g.successors(n)) + list(g.predecessors(n))} - near
            near |= frontier
        return near

    # -- one walk -----------------------------------------------------------------------
    def _execute(self, ep: Any, action: Any, rng: random.Random, local: LocalMemory, walk: Walk) -> Optional[Step]:
        filled = self.ctx.filler.fill(action, rng, local)
        if filled is None:
            self.stats["unfillable"] += 1
            return None
        if walk.steps and self.cfg.require_link and not any(u[0] >= 0 for u in filled.uses):
            self.stats["unlinked"] += 1  # a later step must build on an earlier one's output
            return None
        if schema_problem(action, filled.args) is not None:
            self.stats["schema_invalid"] += 1  # never emit a call the tool's schema rejects
            return None
        native = action.to_native(filled.args)
        obs = ep.call(action.name, native)
        self.stats["calls"] += 1
        step = Step(tool=action.name, args=filled.args, native_args=native, ok=obs.ok,
                    result=obs.result if obs.ok else None, error=None if obs.ok else obs.error,
                    uses=sorted(set((u[0], u[1], u[2]) for u in filled.uses if u[0] >= 0)))
        if not obs.ok:
            self.stats["failed_calls"] += 1
            if self.cfg.keep_failed:
                walk.failed.append({"after_step": len(walk.steps), "tool": action.name, "args": filled.args,
                                    "error": obs.error})
            return None
        local.index_result(self.ctx.slotmap, action.app, entity_of(action), obs.result, step=len(walk.steps))
        return step

    def _candidates(self, walk: Walk, local: LocalMemory, rng: random.Random) -> List[str]:
        """Successors of the walk's steps, data-flow edges that local memory satisfies first."""
        used = {s.tool for s in walk.steps}
        satisfied: Dict[str, float] = {}
        other: Dict[str, float] = {}
        last = len(walk.steps) - 1
        for i, s in enumerate(walk.steps):
            step_weight = 3.0 if i == last else 1.0
            for nxt, key_slots in self._next(s.tool):
                if nxt in used:
                    continue
                weight = step_weight * (self.cfg.focus_weight if nxt in self.focus else 1.0)
                if key_slots and any(local.has(slot) for slot in key_slots):
                    satisfied[nxt] = satisfied.get(nxt, 0.0) + weight
                else:
                    other[nxt] = other.get(nxt, 0.0) + weight * 0.3
        order: List[str] = []
        pools = [satisfied, other] if rng.random() < self.cfg.prefer_local else [other, satisfied]
        for pool in pools:
            names = sorted(pool)
            weights = [pool[n] for n in names]
            while names and len(order) < self.cfg.branching:
                pick = rng.choices(range(len(names)), weights=weights)[0]
                order.append(names.pop(pick))
                weights.pop(pick)
        return order[: self.cfg.branching]

    def _next(self, tool: str) -> List[Tuple[str, List[str]]]:
        """Successors of `tool` with the slots its key edges feed (cached per tool)."""
        got = self._succ.get(tool)
        if got is None:
            got = []
            for nxt in self.ctx.graph.successors(tool):
                if nxt not in self.actions:
                    continue
                action = self.actions[nxt]
                params = {p for _, p, k in self.ctx.graph.feeds(tool, nxt) if k != "mention" and is_reference(p)}
                slots = sorted({s for p in params for s, k in self.ctx.slotmap.param_slots(
                    action, p, action.params[p].schema) if k == "key"})
                got.append((nxt, slots))
            self._succ[tool] = got
        return got

    def walk(self, start: str, rng: random.Random, ep: Any) -> Walk:
        walk = Walk()
        local = LocalMemory()
        first = self._execute(ep, self.actions[start], rng, local, walk)
        if first is None:
            return walk
        walk.steps.append(first)
        while len(walk.steps) < self.cfg.max_depth:
            if len(walk.steps) >= self.cfg.min_depth and rng.random() > self.cfg.continue_prob:
                break
            for name in self._candidates(walk, local, rng):
                step = self._execute(ep, self.actions[name], rng, local, walk)
                if step is not None:
                    walk.steps.append(step)
                    break
            else:
                break  # every candidate failed: this branch ends here
        return walk

    @contextlib.contextmanager
    def _fresh_state(self) -> Iterator[Any]:
        """A fresh episode state. With `reuse_episode`, one connection is rolled back to the
        template after each walk (the same state a new episode has, without the ~4 ms of opening
        and closing a connection with ~90 tables and their triggers); else a new episode."""
        if not self.cfg.reuse_episode:
            with self.ctx.world.episode() as ep:
                yield ep
            return
        if self._episode is None:
            self._episode = self.ctx.world.episode()
        ep = self._episode
        try:
            yield ep
        finally:
            ep.reset()

    def _template(self) -> Any:
        """An episode nothing is ever done in: the state before any task (read-only use)."""
        if self._untouched is None:
            self._untouched = self.ctx.world.episode()
        return self._untouched

    def close(self) -> None:
        for ep in (self._episode, self._untouched):
            if ep is not None:
                ep.close()
        self._episode = self._untouched = None

    def sample(self, start: str, rng: random.Random, seed: int = 0, shard: int = 0) -> Optional[Trajectory]:
        """One walk from `start` in a fresh episode state; a Trajectory if it composes into a task
        whose checks pass there, else None."""
        with self._fresh_state() as ep:
            w = self.walk(start, rng, ep)
            if len(w.steps) < self.cfg.min_depth:
                self.stats["short"] += 1
                return None
            if self.focus and self.cfg.require_focus and not any(st.tool in self.focus for st in w.steps):
                self.stats["unfocused"] += 1  # incremental data must exercise a changed tool
                return None
            diff = ep.diff()
            task = self.composer.compose(w.steps, diff, rng)
            if task is None or not task.checks:
                self.stats["uncomposable"] += 1
                return None
            results = run_checks(task.checks, ep, task.answer)
            if not all(r["passed"] for r in results):
                self.stats["checks_failed"] += 1
                return None
            # a state check that already holds before any work is done tells nothing: drop it
            task.checks = [c for c in task.checks
                           if c["type"].startswith("answer") or not run_checks([c], self._template(), "")[0]["passed"]]
            if not task.checks:
                self.stats["not_discriminative"] += 1
                return None
            traj = Trajectory(id=trajectory_id(w.steps), task=task, steps=w.steps,
                              final_state_hash=ep.state_hash(), diff=diff,
                              meta={"source": self.source, "shard": shard, "seed": seed, "start_node": start,
                                    "depth": len(w.steps), "failed_attempts": w.failed})
        task.id = traj.id
        self.stats["valid"] += 1
        return traj

    # -- many walks ---------------------------------------------------------------------
    def run(self, n: int, seed: int = 0, shard: int = 0, starts: Optional[List[str]] = None,
            progress: Optional[Callable[[int], None]] = None) -> Iterator[Trajectory]:
        """Up to `n` valid trajectories: rounds over the entry nodes (shuffled per round), K valid
        per start node per round, until `n` or the time budget is reached. Deterministic for a
        given (seed, shard) when no time budget cuts it short."""
        rng = random.Random(f"{seed}:{shard}")
        pool = sorted(starts if starts is not None else self.entries)
        if not pool:
            return
        t_end = time.perf_counter() + self.cfg.time_budget_s if self.cfg.time_budget_s > 0 else None
        made = 0
        seen: Set[str] = set()
        per_sequence: Dict[Tuple[str, ...], int] = defaultdict(int)
        barren = 0
        while made < n:
            order = list(pool)
            rng.shuffle(order)
            before = made
            for start in order:
                got = attempts = 0
                while got < self.cfg.k_per_start and attempts < self.cfg.max_attempts_per_start and made < n:
                    if got == 0 and attempts >= GIVE_UP_AFTER:
                        break  # this start node keeps failing: spend the time elsewhere
                    attempts += 1
                    if t_end is not None and time.perf_counter() > t_end:
                        return  # checked per attempt: a run of failing walks must not overrun it either
                    traj = self.sample(start, rng, seed=seed, shard=shard)
                    if traj is None or traj.id in seen:
                        continue
                    sequence = tuple(traj.tools)
                    if self.cfg.max_per_sequence and per_sequence[sequence] >= self.cfg.max_per_sequence:
                        self.stats["repeated_sequence"] += 1  # near-duplicate tasks; de-duplication would drop them
                        continue
                    per_sequence[sequence] += 1
                    seen.add(traj.id)
                    got += 1
                    made += 1
                    if progress is not None:
                        progress(1)
                    yield traj
                if made >= n:
                    return
            barren = barren + 1 if made == before else 0
            if barren >= 2:
                return  # nothing new can be found
