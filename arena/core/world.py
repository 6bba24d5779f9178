"""A world = the apps, their tables and one deterministic seed, frozen into an in-memory SQLite
template. Episodes are cheap copies of it (`sqlite3.Connection.deserialize`), so a reset costs a
memcpy of the database image rather than a reload."""
from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from arena.core.app import App, ToolSpec
from arena.core.context import Ctx, dict_row

SCALES = {"small": 1, "medium": 20, "large": 200}  # k: ~1K, ~20K, ~200K records
DEFAULT_NOW = "2026-03-02T09:00:00"
SCHEMA_VERSION = "1"
TRACK_TABLE = "_before"  # before-images of every row an episode touched
# prepared statements kept per connection: the apps issue several hundred distinct SQL texts, and
# sqlite3's default cache of 128 made most calls re-prepare theirs (a write also compiles the
# change-tracking triggers), which cost more than running most of them
STATEMENT_CACHE = 1024  # ~10 KB each at most; a pooled connection holds a data copy anyway


def _table_columns(db: sqlite3.Connection) -> dict[str, list[str]]:
    db.row_factory = None
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' "
        "ESCAPE '\\' ORDER BY name")]
    cols = {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    db.row_factory = dict_row
    return cols


def _install_tracking(db: sqlite3.Connection, columns: dict[str, list[str]]) -> None:
    """Triggers that record each touched row's first before-image (NULL for inserted rows).
    diff() compares those with the current rows, so its cost is the number of touched rows."""
    db.execute(f"CREATE TABLE {TRACK_TABLE} (tbl TEXT NOT NULL, rid INTEGER NOT NULL, data TEXT, "
               "PRIMARY KEY (tbl, rid)) WITHOUT ROWID")
    # WHERE NOT EXISTS, not INSERT OR IGNORE: an outer statement's ON CONFLICT clause (an upsert)
    # would override the trigger's conflict resolution and fail on the second touch of a row
    for table, cols in columns.items():
        old = "json_array(" + ", ".join(f"OLD.{c}" for c in cols) + ")"
        seen = f"NOT EXISTS (SELECT 1 FROM {TRACK_TABLE} WHERE tbl = '{table}' AND rid = %s.rowid)"
        db.executescript(f"""
CREATE TRIGGER _trk_{table}_i AFTER INSERT ON {table} WHEN {seen % 'NEW'} BEGIN
  INSERT INTO {TRACK_TABLE} VALUES ('{table}', NEW.rowid, NULL); END;
CREATE TRIGGER _trk_{table}_u BEFORE UPDATE ON {table} WHEN {seen % 'OLD'} BEGIN
  INSERT INTO {TRACK_TABLE} VALUES ('{table}', OLD.rowid, {old}); END;
CREATE TRIGGER _trk_{table}_d BEFORE DELETE ON {table} WHEN {seen % 'OLD'} BEGIN
  INSERT INTO {TRACK_TABLE} VALUES ('{table}', OLD.rowid, {old}); END;
""")


class _SeedEpisode:
    """Just enough of an Episode for seed functions to use the same Ctx helpers as tools."""

    def __init__(self, world: "World"):
        self.world = world
        self.actor_id = 1


class SeedCtx(Ctx):
    def __init__(self, world: "World", db: sqlite3.Connection, seed: int, k: int):
        super().__init__(_SeedEpisode(world), db)  # type: ignore[arg-type]
        self.seed = seed
        self.k = k
        self.rng = random.Random(seed)

    def for_app(self, app: str) -> "SeedCtx":
        self.rng = random.Random(f"{self.seed}:{app}")  # per-app streams: adding an app changes no other
        return self


@dataclass
class ToolIndex:
    """Tool lookup by qualified name (`app.tool`) and by bare name where unambiguous."""

    by_qualified: dict[str, ToolSpec]
    by_bare: dict[str, list[ToolSpec]]

    @classmethod
    def build(cls, apps: Iterable[App]) -> "ToolIndex":
        q: dict[str, ToolSpec] = {}
        b: dict[str, list[ToolSpec]] = {}
        for app in apps:
            for spec in app.tools.values():
                q[spec.qualified_name] = spec
                b.setdefault(spec.name, []).append(spec)
        return cls(q, b)


class World:
    """Apps + seed + scale → a template database and everything episodes need."""

    def __init__(self, apps: list[App], seed: int = 0, scale: str = "small", now: str = DEFAULT_NOW,
                 cache_dir: str | os.PathLike | None = None):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
        self.apps = {a.name: a for a in _order(apps)}
        self.seed = seed
        self.scale = scale
        self.now = now
        self.index = ToolIndex.build(self.apps.values())
        self.handlers: dict[str, list[Any]] = {}
        for app in self.apps.values():
            for event, fns in app.handlers.items():
                self.handlers.setdefault(event, []).extend(fns)
        # cache_key names the on-disk template (invalidated by any change of the arena's code);
        # fingerprint names the template's DATA (what state hashes build on), see below
        self.cache_key = self._cache_key()
        self._data_fingerprint: str | None = None
        self._lock = threading.Lock()
        self._image: bytes | None = None
        self._pool: list[sqlite3.Connection] = []
        self.pool_size = 64  # warm connections kept for reuse (each holds one copy of the data)
        self.columns: dict[str, list[str]] = {}
        self.cache_dir = Path(cache_dir) if cache_dir else None

    @property
    def fingerprint(self) -> str:
        """Hash of the template database itself: equal for any two builds with equal data, so
        state hashes survive code changes that leave the seeded data alone."""
        if self._data_fingerprint is None:
            self._data_fingerprint = hashlib.sha256(self.image).hexdigest()[:16]
        return self._data_fingerprint

    def _cache_key(self) -> str:
        h = hashlib.sha256()
        h.update(f"{SCHEMA_VERSION}|{self.seed}|{self.scale}|{self.now}|{','.join(self.apps)}".encode())
        # the arena's own source decides the template's content, so a code change invalidates caches
        root = Path(__file__).resolve().parent.parent
        for path in sorted(root.rglob("*.py")):
            if "tasks" not in path.parts:
                h.update(path.read_bytes())
        return h.hexdigest()[:16]

    # -- the template ---------------------------------------------------------------
    @property
    def image(self) -> bytes:
        """The serialized template database (built once, then cached on disk if a cache dir is set)."""
        if self._image is None:
            with self._lock:
                if self._image is None:
                    self._image = self._load_or_build()
        return self._image

    def _load_or_build(self) -> bytes:
        path = self.cache_dir / f"world-{self.cache_key}.sqlite" if self.cache_dir else None
        if path is not None and path.exists():
            data = path.read_bytes()
            db = sqlite3.connect(":memory:")
            db.deserialize(data)
            self.columns = _table_columns(db)
            db.close()
            return data
        db = self._build()
        data = db.serialize()
        db.close()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return data

    def _build(self) -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.row_factory = dict_row
        for app in self.apps.values():
            if app.schema:
                db.executescript(app.schema)
        ctx = SeedCtx(self, db, self.seed, SCALES[self.scale])
        seeders = sorted(((order, i, app.name, fn) for i, app in enumerate(self.apps.values())
                          for order, fn in app.seeders), key=lambda x: (x[0], x[1]))
        for _, _, app_name, fn in seeders:
            fn(ctx.for_app(app_name))
        db.commit()
        self.columns = _table_columns(db)
        _install_tracking(db, self.columns)
        db.commit()
        db.execute("VACUUM")
        return db

    def record_count(self) -> int:
        db = self.connect()
        try:
            return sum(db.execute(f"SELECT COUNT(*) AS n FROM {t}").fetchone()["n"] for t in self.columns)
        finally:
            db.close()

    def checkout(self) -> sqlite3.Connection:
        """A connection holding a private copy of the template, inside an open transaction.

        SQLite parses the (large) schema once per connection, which costs far more than copying the
        data; so connections are pooled: an episode is one transaction on a warm connection, and
        `checkin` rolls it back, which restores the template state at the cost of the pages touched.
        """
        with self._lock:
            db = self._pool.pop() if self._pool else None
        if db is None:
            db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None,
                                 cached_statements=STATEMENT_CACHE)
            db.deserialize(self.image)
            db.row_factory = dict_row
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # parse the schema now
        db.execute("BEGIN")
        return db

    def checkin(self, db: sqlite3.Connection, reusable: bool = True) -> None:
        """Roll an episode's connection back to the template state and keep it for the next one."""
        if reusable and db.in_transaction:
            db.execute("ROLLBACK")
            with self._lock:
                if len(self._pool) < self.pool_size:
                    self._pool.append(db)
                    return
        db.close()

    def connect(self, path: str | os.PathLike | None = None) -> sqlite3.Connection:
        """A new connection: a private copy of the template, or a shared file (see serve)."""
        image = self.image
        if path is None:
            db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None,
                                 cached_statements=STATEMENT_CACHE)
            db.deserialize(image)
        else:
            path = Path(path)
            if not path.exists():
                tmp = path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_bytes(image)
                os.replace(tmp, path)
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30,
                                 cached_statements=STATEMENT_CACHE)
            db.execute("PRAGMA journal_mode=WAL")
        db.row_factory = dict_row
        db.execute("PRAGMA foreign_keys=ON")
        return db

    def episode(self, actor: str | None = None, state_path: str | os.PathLike | None = None,
                workdir: str | os.PathLike | None = None):
        from arena.core.episode import Episode

        return Episode(self, actor=actor, state_path=state_path, workdir=workdir)

    def tools(self, app: str | None = None) -> list[ToolSpec]:
        return [t for a in self.apps.values() if app in (None, a.name) for t in a.tools.values()]


def _order(apps: list[App]) -> list[App]:
    """Dependency order (core first), stable otherwise, so schemas with foreign keys apply."""
    by_name = {a.name: a for a in apps}
    done: list[App] = []
    seen: set[str] = set()

    def visit(app: App) -> None:
        if app.name in seen:
            return
        seen.add(app.name)
        for dep in app.depends_on:
            if dep not in by_name:
                raise ValueError(f"app {app.name!r} depends on unknown app {dep!r}")
            visit(by_name[dep])
        done.append(app)

    for a in apps:
        visit(a)
    return done


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
