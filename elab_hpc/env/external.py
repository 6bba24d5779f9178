"""Your own MCP servers as an environment: what synthesis, SFT rendering and evaluation act on
when the tools are not the arena's (configs: examples/byo_mcp/env*.yaml).

    world = ExternalWorld(load_external_env("examples/byo_mcp/env.yaml"))
    with world.episode() as ep:                     # the arena's Episode API, over MCP
        obs = ep.call("helpdesk.assign_asset", {"asset_id": 3, "username": "li.wei"})
        ep.diff(); ep.state_hash(); ep.query("SELECT ...")   # over the state view (state_view.py)
    env = ExternalEnv(world)                         # the agent Env (ArenaEnv's interface)

Episodes. A server has ONE state, but the synthesizer, the replay filter and the batched agent
runner each expect isolated episodes. The seed hook makes that possible: every episode records
its own write calls; when an episode acts and the server holds another's changes, the server is
reseeded and this episode's writes are replayed (cheap: episodes are a few calls long; a replay
that disagrees with what was recorded is an error, since the server is then not deterministic).
An episode that has written nothing sees the seeded state without touching the server.

Seed hook (`reset:` in the config), one of:
  tool:    a tool of your server that restores its seed data (it is hidden from agents)
  command: an argv run to the same effect, e.g. [python, server.py, seed, --db, "{state_dir}/x.sqlite"]
Without one the environment is READ-ONLY EXPLORATION: only read tools (readOnlyHint, else
list/search/get by name) are sampled and shown to agents, and tasks check answers, not state.

`{state_dir}` in a stdio command, its env or the reset command is replaced by a fresh private
directory per environment, so every process (a synthesis shard, an evaluation shard) gets its own
server and its own data; an HTTP server is one shared state: run one stage against it at a time.
`{python}` is replaced by the running interpreter (the job's virtual environment).
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from elab_hpc.config import REPO_ROOT, load_config, to_object
from elab_hpc.env import state_view
from elab_hpc.env.sources import SourceConfig
from elab_hpc.errors import ConfigError, UserError

READ_OPS = ("LIST", "SEARCH", "GET")


@dataclass
class ResetConfig:
    """The seed hook: give `tool` or `command` (or neither: read-only exploration)."""

    tool: str = ""  # registry name (`app.tool`) or bare name of a tool that reseeds the server
    command: List[str] = field(default_factory=list)  # argv that reseeds it; `{state_dir}` is substituted
    timeout_s: float = 60.0


@dataclass
class ExternalEnvConfig:
    name: str = "byo"
    sources: List[SourceConfig] = field(default_factory=list)  # kind stdio (command) or http (url + token_env)
    reset: ResetConfig = field(default_factory=ResetConfig)
    read_only: bool = False  # force read-only exploration even with a seed hook
    state_tools: List[str] = field(default_factory=list)  # read tools whose listings are the state (default: every
    #                                                        read tool without required parameters)
    exclude_tools: List[str] = field(default_factory=list)  # registry names never sampled nor shown to agents
    today: str = "2026-03-02T09:00:00"  # the date generated dates are relative to


def check_external_env(c: ExternalEnvConfig) -> None:
    if not c.sources:
        raise ConfigError("sources: name at least one MCP server (kind: stdio with command, or kind: http with url)")
    names = [s.name for s in c.sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"sources: names must be unique, got {names}")
    for s in c.sources:
        if s.kind == "arena":
            raise ConfigError(f"sources: {s.name!r} has kind arena; this config is for your own servers "
                              "(use the arena configs for the arena)")
        s.validate()
    if c.reset.tool and c.reset.command:
        raise ConfigError("reset: give `tool` or `command`, not both")


def resolve_path(path: str | Path) -> Path:
    """A config path as given (absolute, or relative to the working directory), else relative to
    the project (shipped configs name project files the same way from any job's directory)."""
    p = Path(path)
    if p.is_file() or p.is_absolute():
        return p
    return REPO_ROOT / p if (REPO_ROOT / p).is_file() else p


def load_external_env(path: str | Path, overrides: Optional[List[str]] = None) -> ExternalEnvConfig:
    p = resolve_path(path)
    if not p.is_file():
        raise ConfigError(f"external environment config not found: {path}")
    cfg: ExternalEnvConfig = to_object(load_config(ExternalEnvConfig, p, overrides))
    check_external_env(cfg)
    return cfg


def is_write(action: Any) -> bool:
    """The server's readOnlyHint when it gives one, else the op inferred from the name."""
    ro = action.annotations.get("readOnlyHint")
    return not ro if ro is not None else action.op not in READ_OPS


@dataclass
class Observation:
    """A tool call's outcome (arena.core.episode.Observation's fields)."""

    tool: str
    ok: bool
    result: Optional[Dict[str, Any]] = None
    error: Optional[Dict[str, Any]] = None
    elapsed_s: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"tool": self.tool, "ok": self.ok}
        if self.ok:
            out["result"] = self.result
        else:
            out["error"] = self.error
        return out


class ExternalWorld:
    """The servers of one config, connected; what `arena.Arena(...).world` is to synthesis."""

    def __init__(self, cfg: ExternalEnvConfig):
        self.cfg = cfg
        self.state_dir = tempfile.mkdtemp(prefix=f"elab-{cfg.name}-")
        self._closed = False
        atexit.register(self.close)
        self.sources = [self._substitute(s) for s in cfg.sources]
        self.reset_calls = 0
        try:
            self._connect()
        except BaseException:
            self.close()  # no server process or private folder outlives a failed start
            raise

    def _connect(self) -> None:
        from elab_hpc.env.discovery import discover
        from elab_hpc.env.mcp_sync import SyncMCP
        from elab_hpc.env.registry import ToolRegistry

        cfg = self.cfg
        found = discover(self.sources)
        failed = [p for p in found.problems if p["tool"] == "*"]
        if failed:
            raise UserError("cannot reach MCP server(s): " + "; ".join(f"{p['source']}: {p['problem']}" for p in failed))
        full = ToolRegistry.build(found)
        self.problems = full.problems
        self._reset_action = self._find_reset(full)
        self.read_only = cfg.read_only or not (cfg.reset.tool or cfg.reset.command)
        hidden = set(cfg.exclude_tools) | ({self._reset_action.name} if self._reset_action else set())
        unknown = [n for n in cfg.exclude_tools if n not in full]
        if unknown:
            raise ConfigError(f"exclude_tools: no tool named {', '.join(unknown)} (known: {', '.join(sorted(full.actions))})")
        self.registry = ToolRegistry({n: a for n, a in full.actions.items()
                                      if n not in hidden and not (self.read_only and is_write(a))}, full.problems)
        if not len(self.registry):
            raise UserError(f"{cfg.name}: no usable tools (problems: {full.problems[:3]})")
        self.apps = {a.app for a in self.registry}
        self.now = cfg.today
        self.state_tools = self._state_tools()
        self.columns: Dict[str, List[str]] = {}
        self.columns_version = 0
        self.mcp = SyncMCP(self.sources)
        self._on_server: Tuple[Optional["ExternalEpisode"], int] = (None, 0)  # whose writes the server holds
        self._dirty = False
        if not self.read_only:
            self._reseed()
        self.template = self._snapshot()
        self.template_hash = state_view.state_hash(self.template)
        names = ",".join(sorted(self.registry.actions))
        self.fingerprint = f"byo:{cfg.name}:" + hashlib.sha256(f"{names}|{self.template_hash}".encode()).hexdigest()[:12]

    # -- setup ----------------------------------------------------------------------------
    def _sub(self, value: str) -> str:
        return value.replace("{state_dir}", self.state_dir).replace("{python}", sys.executable)

    def _substitute(self, s: SourceConfig) -> SourceConfig:
        return replace(s, command=[self._sub(a) for a in s.command], env={k: self._sub(v) for k, v in s.env.items()})

    def _find_reset(self, full: Any) -> Any:
        name = self.cfg.reset.tool
        if not name:
            return None
        hits = full.resolve(name)
        if len(hits) != 1:
            raise ConfigError(f"reset.tool: {name!r} matches {hits or 'no tool'} "
                              f"(known: {', '.join(sorted(full.actions))})")
        return full[hits[0]]

    def _state_tools(self) -> List[Any]:
        if self.cfg.state_tools:
            missing = [n for n in self.cfg.state_tools if n not in self.registry]
            if missing:
                raise ConfigError(f"state_tools: unknown tool(s) {', '.join(missing)}")
            return [self.registry[n] for n in self.cfg.state_tools]
        return [a for a in self.registry if not is_write(a) and not any(p.required for p in a.params.values())
                and a.op in ("LIST", "SEARCH")]

    # -- the server's state -----------------------------------------------------------------
    def _reseed(self) -> None:
        """Run the seed hook: the server is back at its seed data."""
        if self._reset_action is not None:
            a = self._reset_action
            ok, _, err = self.mcp.call(a.source, a.call_name, {}, a.output_schema)
            if not ok:
                raise UserError(f"reset.tool {a.name} failed: {err}")
        else:
            argv = [self._sub(c) for c in self.cfg.reset.command]
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=self.cfg.reset.timeout_s)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise UserError(f"reset.command {argv}: {exc}") from None
            if done.returncode != 0:
                raise UserError(f"reset.command {argv} exited {done.returncode}: {done.stderr.strip()[-500:]}")
        self.reset_calls += 1
        self._on_server = (None, 0)
        self._dirty = False

    def _snapshot(self) -> state_view.Rows:
        tables: state_view.Rows = {}
        for a in self.state_tools:
            ok, result, err = self.mcp.call(a.source, a.call_name, {}, a.output_schema)
            if not ok:
                raise UserError(f"state tool {a.name} failed: {err}")
            items = state_view.listed_items(result)
            if items is None:
                continue
            from elab_hpc.env.classify import singular, split_name

            _, words = split_name(a.app, a.tool)
            table = state_view.table_name(a.app, singular("_".join(words)) if words else a.tool)
            tables.setdefault(table, state_view.rows_of(items))
        if state_view.merge_columns(self.columns, tables):
            self.columns_version += 1
        return tables

    def _activate(self, ep: "ExternalEpisode") -> None:
        """Make the server hold exactly `ep`'s writes (reseed + replay when it holds others')."""
        if self._on_server == (ep, ep._gen):
            return
        if not ep.writes and not self._dirty:
            self._on_server = (ep, ep._gen)
            return
        self._reseed()
        for action, native, ok in ep.writes:
            got, _, err = self.mcp.call(action.source, action.call_name, native, action.output_schema)
            if got != ok:
                raise UserError(f"{action.name}: replay after a reseed gave ok={got} where the episode saw ok={ok} "
                                f"({err}); the server is not deterministic after its seed hook")
        self._dirty = bool(ep.writes)
        self._on_server = (ep, ep._gen)

    def episode(self) -> "ExternalEpisode":
        return ExternalEpisode(self)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        mcp = getattr(self, "mcp", None)
        if mcp is not None:
            try:
                if getattr(self, "_dirty", False) and not self.read_only:
                    self._reseed()  # leave the server as its seed made it
            except UserError:
                pass
            mcp.close()
        shutil.rmtree(self.state_dir, ignore_errors=True)


class ExternalEpisode:
    """An isolated episode over the shared server (see the module docstring)."""

    def __init__(self, world: ExternalWorld):
        self.world = world
        self.writes: List[Tuple[Any, Dict[str, Any], bool]] = []
        self._gen = 0  # bumped on every write and reset: what the cached snapshot / database belong to
        self._snap: Optional[Tuple[int, state_view.Rows]] = None
        self._db: Optional[Tuple[Tuple[int, int], state_view.StateDB]] = None

    def __enter__(self) -> "ExternalEpisode":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def call(self, name: str, args: Dict[str, Any]) -> Observation:
        """Call a tool by registry name with its NATIVE arguments (as `arena` episodes take them)."""
        t0 = time.perf_counter()
        action = self.world.registry.actions.get(name)
        if action is None:
            return Observation(name, False, error={"code": "unknown_tool", "message": f"no tool named {name!r}"},
                               elapsed_s=time.perf_counter() - t0)
        w = self.world
        w._activate(self)  # reads too: they must see this episode's state, not another's
        ok, result, error = w.mcp.call(action.source, action.call_name, args, action.output_schema)
        if is_write(action):
            self.writes.append((action, dict(args), ok))
            self._gen += 1
            w._dirty = True
            w._on_server = (self, self._gen)
        return Observation(name, ok, result, error, time.perf_counter() - t0)

    # -- state ------------------------------------------------------------------------------
    def _tables(self) -> state_view.Rows:
        if not self.writes:
            return self.world.template
        if self._snap is None or self._snap[0] != self._gen:
            self.world._activate(self)
            self._snap = (self._gen, self.world._snapshot())
        return self._snap[1]

    def diff(self) -> Dict[str, Any]:
        return state_view.diff(self.world.template, self._tables())

    def state_hash(self) -> str:
        return state_view.state_hash(self._tables()) if self.writes else self.world.template_hash

    def query(self, sql: str, *args: Any) -> List[Dict[str, Any]]:
        tables = self._tables()
        key = (self._gen, self.world.columns_version)
        if self._db is None or self._db[0] != key:
            if self._db is not None:
                self._db[1].close()
            self._db = (key, state_view.StateDB(tables, self.world.columns))
        return self._db[1].query(sql, *args)

    def reset(self) -> None:
        """Back to the seed state (the server is reseeded lazily, when someone acts next)."""
        self.writes = []
        self._gen += 1
        self._snap = None

    def close(self) -> None:
        self.reset()
        if self._db is not None:
            self._db[1].close()
            self._db = None


# ------------------------------------------------------------------------------ agents and evaluation

class ExternalSession:
    """An agent session (elab_hpc.agent.env_adapter.EnvSession) over an external episode."""

    def __init__(self, env: "ExternalEnv", apps: Sequence[str]):
        self.env = env
        self.episode = env.world.episode()
        self.tools = [a.openai_tool() for a in env.registry if not apps or a.app in set(apps)]

    def call(self, fn_name: str, args: Dict[str, Any]) -> Dict[str, Any]:
        t0 = time.perf_counter()
        action = self.env.registry.by_fn_name(fn_name)
        if action is None:
            return {"tool": fn_name, "ok": False, "elapsed_s": time.perf_counter() - t0,
                    "error": {"code": "unknown_tool", "message": f"no tool named {fn_name!r}"}}
        out = self.episode.call(action.name, action.to_native(args)).to_dict()
        out["elapsed_s"] = time.perf_counter() - t0
        return out

    def state_hash(self) -> Optional[str]:
        return self.episode.state_hash()

    def close(self) -> None:
        self.episode.close()


class ExternalEnv:
    """The agent Env over your servers (what ArenaEnv is for the arena)."""

    def __init__(self, world: ExternalWorld):
        self.world = world
        self.registry = world.registry
        self.fingerprint = world.fingerprint

    @classmethod
    def from_config(cls, path: str | Path, overrides: Optional[List[str]] = None) -> "ExternalEnv":
        return cls(open_world(path, overrides))

    def open(self, task: Any = None, apps: Sequence[str] = ()) -> ExternalSession:
        return ExternalSession(self, apps)


_WORLDS: Dict[Tuple[str, Tuple[str, ...]], ExternalWorld] = {}


def open_world(path: str | Path, overrides: Optional[List[str]] = None) -> ExternalWorld:
    """The world of a config, connected once per process (discovery and the first reseed cost
    about a second with a stdio server)."""
    key = (str(resolve_path(path).resolve()), tuple(overrides or ()))
    world = _WORLDS.get(key)
    if world is None or world._closed:
        world = _WORLDS[key] = ExternalWorld(load_external_env(path, overrides))
    return world


class ExternalTasks:
    """An evaluation TaskSource (elab_hpc.eval.tasks): tasks from a JSONL file (e.g. held-out
    synthesized tasks), run against the servers of an external environment config."""

    name = "external"

    def __init__(self, tasks_path: Path, env_config: str):
        self.path = Path(tasks_path)
        self.env_config = env_config

    def load(self, selector: str = "", categories: Sequence[str] = (), apps: Sequence[str] = (),
             limit: int = 0) -> List[Dict[str, Any]]:
        from elab_hpc.eval.tasks import ArenaSource

        return ArenaSource(self.path).load(selector, categories, apps, limit)  # same file format and filters

    def env(self, seed: int = 0, scale: str = "small") -> ExternalEnv:
        return ExternalEnv(open_world(self.env_config))

    def check(self, task: Dict[str, Any], session: Any, answer: str) -> List[Dict[str, Any]]:
        from elab_hpc.env.checks import run_checks

        ep = session.episode
        return run_checks(task["checks"], ep, answer or "", call=lambda tool, args: ep.call(tool, args))
