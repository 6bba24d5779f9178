"""One agent episode: an isolated copy of the enterprise state that persists across its turns.

    with world.episode() as ep:
        obs = ep.call("gitlab.create_issue", {"project_id": "1", "title": "Fix login"})
        ep.diff(); ep.state_hash()

Every call runs inside a SAVEPOINT: a refused or crashing call leaves no trace in the state.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from arena.core.context import Ctx
from arena.core.errors import ToolError
from arena.core.world import TRACK_TABLE, canonical

if TYPE_CHECKING:
    from arena.core.app import ToolSpec
    from arena.core.world import World

MAX_ARG_BYTES = 1 << 20  # 1 MiB of argument text per call: bigger payloads are refused, not parsed


@dataclass
class Observation:
    """What a tool call returns to the agent: a result or a structured error, never an exception."""

    tool: str
    ok: bool
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    elapsed_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tool": self.tool, "ok": self.ok}
        if self.ok:
            out["result"] = self.result
        else:
            out["error"] = self.error
        return out

    def text(self) -> str:
        return json.dumps(self.result if self.ok else {"error": self.error}, ensure_ascii=False, default=str)


def _arg_size(value: Any, budget: int) -> int:
    """Approximate serialized size, stopping early once over budget (a 10 MB string costs O(1))."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        total = 0
        for k, v in value.items():
            total += len(str(k)) + _arg_size(v, budget - total)
            if total > budget:
                break
        return total
    if isinstance(value, (list, tuple)):
        total = 0
        for v in value:
            total += 1 + _arg_size(v, budget - total)
            if total > budget:
                break
        return total
    return 8


class Episode:
    def __init__(self, world: "World", actor: str | None = None, state_path: str | os.PathLike | None = None,
                 workdir: str | os.PathLike | None = None):
        self.world = world
        self.shared = state_path is not None
        # private episodes: one transaction on a pooled connection (rolled back on close);
        # shared-file episodes (serving several processes) commit every call
        self.db: sqlite3.Connection = world.connect(state_path) if self.shared else world.checkout()
        self._reusable = not self.shared
        self.ctx = Ctx(self, self.db)
        self.actor_id = 1
        if actor is not None:
            self.as_user(actor)
        self._workdir = Path(workdir) if workdir else None
        self._own_workdir = False
        self.calls = 0
        self.closed = False
        self._initial_actor = self.actor_id
        # per-episode state that is not company data (browser history, bash's view of the disk);
        # apps keep it here under "<app>.<name>" keys so that reset() and close() drop it
        self.session: dict[str, Any] = {}

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self) -> "Episode":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.shared:
            self.db.close()
        else:
            self.world.checkin(self.db, reusable=self._reusable)
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def reset(self) -> "Episode":
        """Back to the state the episode started in (data, acting user, session state, work
        directory) without opening a new one. Private episodes only."""
        if self.shared:
            raise RuntimeError("a shared-file episode cannot be reset; open a new state file")
        self.db.execute("ROLLBACK")
        self.db.execute("BEGIN")
        self.actor_id = self._initial_actor
        self.ctx._actor = None
        self.session.clear()
        if self._workdir is not None and self._workdir.is_dir():
            for child in self._workdir.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        return self

    @property
    def workdir(self) -> Path:
        """A private directory for tools that need real files (bash, file system); made on first use."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="arena-ep-"))
            self._own_workdir = True
        self._workdir.mkdir(parents=True, exist_ok=True)
        return self._workdir

    def as_user(self, ident: Any) -> "Episode":
        """Act as another user from now on (username, email, employee id or user id)."""
        self.actor_id = self.ctx.user_by(ident)["id"]
        return self

    # -- tools ------------------------------------------------------------------------
    def resolve(self, name: str) -> "ToolSpec":
        index = self.world.index
        spec = index.by_qualified.get(name)
        if spec is not None:
            return spec
        candidates = index.by_bare.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise ToolError("ambiguous_tool", f"{name!r} exists in several apps; use one of "
                            + ", ".join(c.qualified_name for c in candidates),
                            candidates=[c.qualified_name for c in candidates])
        raise ToolError("unknown_tool", f"no tool named {name!r}", name=name)

    def call(self, name: str, args: dict[str, Any] | None = None) -> Observation:
        t0 = time.perf_counter()
        self.calls += 1
        try:
            spec = self.resolve(name)
        except ToolError as exc:
            return Observation(tool=name, ok=False, error=exc.to_dict(), elapsed_s=time.perf_counter() - t0)
        qname = spec.qualified_name
        if args is None:
            args = {}
        if not isinstance(args, dict):
            err = ToolError("invalid_arguments", f"arguments must be a JSON object, got {type(args).__name__}")
            return Observation(tool=qname, ok=False, error=err.to_dict(), elapsed_s=time.perf_counter() - t0)
        if _arg_size(args, MAX_ARG_BYTES) > MAX_ARG_BYTES:
            err = ToolError("payload_too_large", f"arguments exceed {MAX_ARG_BYTES} bytes", limit=MAX_ARG_BYTES)
            return Observation(tool=qname, ok=False, error=err.to_dict(), elapsed_s=time.perf_counter() - t0)
        try:
            parsed = spec.arg_model.model_validate(args)
        except ValidationError as exc:
            problems = [{"field": ".".join(str(p) for p in e["loc"]) or "(arguments)", "problem": e["msg"]}
                        for e in exc.errors(include_url=False, include_input=False)]
            err = ToolError("invalid_arguments",
                            f"{qname}: " + "; ".join(f"{p['field']}: {p['problem']}" for p in problems),
                            problems=problems)
            return Observation(tool=qname, ok=False, error=err.to_dict(), elapsed_s=time.perf_counter() - t0)
        kwargs = parsed.__dict__  # exactly the declared fields (extra arguments are refused or dropped)
        db = self.db
        db.execute("SAVEPOINT call")
        try:
            result = spec.fn(self.ctx, **kwargs)
        except ToolError as exc:
            db.execute("ROLLBACK TO call")
            db.execute("RELEASE call")
            return Observation(tool=qname, ok=False, error=exc.to_dict(), elapsed_s=time.perf_counter() - t0)
        except Exception as exc:  # a bug in a tool must not kill an agent's episode
            db.execute("ROLLBACK TO call")
            db.execute("RELEASE call")
            err = ToolError("internal_error", f"{type(exc).__name__}: {exc}")
            return Observation(tool=qname, ok=False, error=err.to_dict(), elapsed_s=time.perf_counter() - t0)
        db.execute("RELEASE call")
        if not self.shared and not db.in_transaction:
            # a tool ended the episode's transaction (it must not); keep the episode going, but
            # never hand this connection to another episode
            self._reusable = False
            db.execute("BEGIN")
        if not isinstance(result, dict):
            result = {"result": result}
        return Observation(tool=qname, ok=True, result=result, elapsed_s=time.perf_counter() - t0)

    # -- evaluation -------------------------------------------------------------------
    def diff(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Net changes since the episode started, per table: inserted, updated (before/after), deleted."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        cols_of = self.world.columns
        touched = self.db.execute(f"SELECT tbl, rid, data FROM {TRACK_TABLE} ORDER BY tbl, rid").fetchall()
        for row in touched:
            table, rid, before_json = row["tbl"], row["rid"], row["data"]
            cols = cols_of[table]
            cur = self.db.execute(f"SELECT json_array({', '.join(cols)}) AS j FROM {table} WHERE rowid = ?",
                                  (rid,)).fetchone()
            after_json = cur["j"] if cur else None
            if before_json == after_json:
                continue
            entry = out.setdefault(table, {"inserted": [], "updated": [], "deleted": []})
            before = dict(zip(cols, json.loads(before_json))) if before_json else None
            after = dict(zip(cols, json.loads(after_json))) if after_json else None
            if before is None and after is not None:
                entry["inserted"].append(after)
            elif after is None and before is not None:
                entry["deleted"].append(before)
            elif before is not None and after is not None:
                changed = {c: {"before": before[c], "after": after[c]} for c in cols if before[c] != after[c]}
                entry["updated"].append({"id": rid, "changes": changed, "after": after})
        return out

    def state_hash(self) -> str:
        """Equal for two episodes of the same world iff their final states are equal."""
        h = hashlib.sha256(self.world.fingerprint.encode())
        h.update(canonical(self.diff()).encode())
        return h.hexdigest()

    def query(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Read-only SQL over the state, for checks and tests (not exposed to agents)."""
        if not sql.lstrip().lower().startswith(("select", "with")):
            raise ValueError("Episode.query is read-only")
        return self.db.execute(sql, args).fetchall()
