"""The task interface of evaluation, and how task suites (the arena's and external ones) plug in.

A task is a dict: `{id, intent, category, gold_actions [{tool, args}], checks, apps, answer}`
(see arena/tasks/suite.py). A `TaskSource` supplies tasks, the environment the agent acts on, and
the verdict:

    class TaskSource(Protocol):
        name: str
        def load(self, selector: str, categories, apps, limit) -> list[dict]   # the tasks
        def env(self, seed: int, scale: str) -> Env        # elab_hpc.agent.env_adapter.Env
        def check(self, task, session, answer) -> list[dict]   # [{check, passed, detail}]

Sources by the prefix of `tasks=`:

  arena:<train|dev|test|all>   the EnterpriseArena suite (arena/tasks/); checks run on the episode's
                               SQLite state and the final answer (elab_hpc.env.checks)
  jsonl:<path>                 your own tasks in the same dict format, executed in the arena
  mcp:<path>#<env.yaml>        tasks in the same format run on YOUR OWN MCP servers, named by an
                               external environment config (elab_hpc/env/external.py)
  module:<pkg.mod>:<factory>   an EXTERNAL benchmark: `factory()` returns a TaskSource

Plugging in an external benchmark (e.g. one served by its own MCP servers): write a module with
a factory returning an object with the three methods. `env()` returns anything with `fingerprint`
and `open(task, apps) -> session` where the session has `tools` (OpenAI function schemas),
`call(fn_name, args) -> {tool, ok, result|error}`, `state_hash()`, `close()` — e.g. an MCP
client session. `check()` decides success from the session and the answer: return the results
of `run_checks(task["checks"], None, answer, call=...)` with `probe` checks (read-only tool
calls whose result is compared) and `answer_contains` facts, or your own verdicts in the same
shape. Gold actions are optional (without them r1 compares against nothing and scores 0); then
`elab-hpc eval run tasks=module:mybench.tasks:make_source model=...` works as for the arena.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence

from elab_hpc.errors import ConfigError, UserError

Task = Dict[str, Any]
REQUIRED_KEYS = ("id", "intent", "checks")


class TaskSource(Protocol):
    name: str

    def load(self, selector: str, categories: Sequence[str] = (), apps: Sequence[str] = (),
             limit: int = 0) -> List[Task]: ...

    def env(self, seed: int, scale: str) -> Any: ...

    def check(self, task: Task, session: Any, answer: str) -> List[Dict[str, Any]]: ...


class ArenaSource:
    """The EnterpriseArena suite, or any task file in its format, run in arena episodes."""

    name = "arena"

    def __init__(self, path: Optional[Path] = None):
        self.path = path

    def load(self, selector: str, categories: Sequence[str] = (), apps: Sequence[str] = (),
             limit: int = 0) -> List[Task]:
        from arena.tasks.suite import load_suite, read_jsonl

        if self.path is None:
            return load_suite(split=selector or "all", categories=categories, apps=apps, limit=limit)
        if not self.path.is_file():
            raise UserError(f"tasks: file not found: {self.path}")
        tasks = read_jsonl(self.path)
        for n, t in enumerate(tasks, 1):
            missing = [k for k in REQUIRED_KEYS if k not in t]
            if missing:
                raise UserError(f"tasks: {self.path}: task {n} lacks {', '.join(missing)}")
        tasks = [t for t in tasks if (not categories or t.get("category") in categories)
                 and (not apps or set(t.get("apps") or []) & set(apps))]
        tasks.sort(key=lambda t: str(t["id"]))
        return tasks[:limit] if limit else tasks

    def env(self, seed: int, scale: str, surface: str = "") -> Any:
        from elab_hpc.agent.env_adapter import ArenaEnv

        return ArenaEnv(seed=seed, scale=scale, surface=surface)

    def check(self, task: Task, session: Any, answer: str) -> List[Dict[str, Any]]:
        from elab_hpc.env.checks import run_checks

        ep = session.episode
        return run_checks(task["checks"], ep, answer or "", call=lambda tool, args: ep.call(tool, args))


def _import(spec: str, what: str) -> Callable[..., Any]:
    mod_name, _, attr = spec.rpartition(":")
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ConfigError(f"{what}: cannot import module {mod_name!r} ({exc})") from None
    fn = getattr(mod, attr, None)
    if not callable(fn):
        raise ConfigError(f"{what}: {mod_name!r} has no callable {attr!r}")
    return fn


def resolve(tasks_spec: str) -> tuple:
    """`tasks=` value → (TaskSource, selector)."""
    kind, _, rest = tasks_spec.partition(":")
    if kind == "arena":
        return ArenaSource(), rest
    if kind == "jsonl":
        return ArenaSource(Path(rest)), ""
    if kind == "mcp":  # mcp:<tasks.jsonl>#<external env config>: tasks run on your own MCP servers
        from elab_hpc.env.external import ExternalTasks

        path, _, env = rest.partition("#")
        if not path or not env:
            raise ConfigError(f"tasks: {tasks_spec!r} — expected mcp:<tasks.jsonl>#<env config.yaml>")
        return ExternalTasks(Path(path), env), ""
    if kind == "module":
        source = _import(rest, "tasks")()
        for m in ("load", "env", "check"):
            if not callable(getattr(source, m, None)):
                raise ConfigError(f"tasks: {rest!r} returned an object without {m}()")
        return source, ""
    raise ConfigError(f"tasks: unknown source {kind!r} in {tasks_spec!r}; use arena:, jsonl:, mcp: or module:")


def load_tasks(tasks_spec: str, categories: Sequence[str] = (), apps: Sequence[str] = (), limit: int = 0
               ) -> List[Task]:
    source, selector = resolve(tasks_spec)
    return source.load(selector, categories, apps, limit)


def load_judge(spec: str) -> Optional[Callable[[Task, str, Dict[str, Any]], float]]:
    """The optional judge hook (off when empty): an extra score per episode, reported next to the
    check-based verdict and never replacing it."""
    return _import(spec, "judge") if spec else None


def shard_of(tasks: Sequence[Task], shard: int, num_shards: int) -> List[Task]:
    """Round-robin shard `shard` of `num_shards` (tasks sorted by id first, so shards are stable)."""
    if not 0 <= shard < num_shards:
        raise UserError(f"--shard {shard} is outside 0..{num_shards - 1}")
    ordered = sorted(tasks, key=lambda t: str(t["id"]))
    return ordered[shard::num_shards]
