"""What a tool function sees: the episode's database, the acting user, a frozen clock, and
helpers for the few things every app does (query, insert, update, emit an event, notify)."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Iterable

from arena.core.errors import ToolError, not_found

if TYPE_CHECKING:
    from arena.core.episode import Episode


_last_columns: tuple[Any, tuple[str, ...]] = (None, ())


def dict_row(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    """Rows as plain dicts. A cursor keeps one `description` object for all rows of a statement,
    so the column names are extracted once per statement, not once per row (a hot path)."""
    global _last_columns
    description = cursor.description
    seen, names = _last_columns  # one tuple, swapped atomically: safe across threads
    if seen is not description:
        names = tuple(col[0] for col in description)
        _last_columns = (description, names)
    return dict(zip(names, row))


class Ctx:
    """Per-episode tool context. Tools must go through `ctx.db` (never a global connection)
    so that episodes stay isolated and every write is tracked for `diff()`."""

    def __init__(self, episode: "Episode", db: sqlite3.Connection):
        self.episode = episode
        self.db = db
        self.now: str = episode.world.now  # frozen per world: states stay comparable across runs
        self.today: str = self.now[:10]
        self._actor: dict[str, Any] | None = None

    # -- who is acting ------------------------------------------------------------------
    @property
    def actor(self) -> dict[str, Any]:
        """The user on whose behalf tools run (a row of `users`)."""
        if self._actor is None or self._actor["id"] != self.episode.actor_id:
            self._actor = self.one("SELECT * FROM users WHERE id = ?", self.episode.actor_id)
            if self._actor is None:
                raise ToolError("permission_denied", "the acting user no longer exists")
        return self._actor

    def require_role(self, *roles: str, action: str) -> None:
        if self.actor["role"] not in roles and self.actor["role"] != "admin":
            raise ToolError(
                "permission_denied",
                f"{self.actor['username']} ({self.actor['role']}) may not {action}; needs one of {', '.join(roles)}",
                required_roles=list(roles),
            )

    # -- queries ------------------------------------------------------------------------
    def all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        return self.db.execute(sql, args).fetchone()

    def scalar(self, sql: str, *args: Any) -> Any:
        row = self.db.execute(sql, args).fetchone()
        return None if row is None else next(iter(row.values()))

    def get(self, table: str, id_: Any, what: str | None = None, key: str = "id") -> dict[str, Any]:
        """The row of `table` whose `key` equals `id_`, or a not_found error naming `what`."""
        row = self.one(f"SELECT * FROM {table} WHERE {key} = ?", id_)
        if row is None:
            raise not_found(what or table.rstrip("s"), id_)
        return row

    def insert(self, table: str, **values: Any) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        try:
            cur = self.db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))
        except sqlite3.IntegrityError as exc:
            raise ToolError("conflict", f"{table}: {exc}") from None
        return int(cur.lastrowid)

    def update(self, table: str, id_: Any, key: str = "id", **values: Any) -> None:
        if not values:
            return
        sets = ", ".join(f"{c} = ?" for c in values)
        try:
            self.db.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", (*values.values(), id_))
        except sqlite3.IntegrityError as exc:
            raise ToolError("conflict", f"{table}: {exc}") from None

    def delete(self, table: str, id_: Any, key: str = "id") -> None:
        self.db.execute(f"DELETE FROM {table} WHERE {key} = ?", (id_,))

    # -- cross-app ----------------------------------------------------------------------
    def emit(self, event: str, **payload: Any) -> None:
        """Let other apps react (inside the same call, so a refused call rolls them back too)."""
        for handler in self.episode.world.handlers.get(event, ()):
            handler(self, **payload)

    def notify(self, user_id: int, app: str, text: str, ref: str | None = None, kind: str = "info") -> int:
        """A notification in the user's inbox (visible to every app's notification view)."""
        return self.insert(
            "notifications", user_id=user_id, app=app, kind=kind, text=text, ref=ref, created_at=self.now, read=0
        )

    def user_by(self, ident: Any) -> dict[str, Any]:
        """Resolve a user given as id, username, email or employee id (agents use all four)."""
        row = None
        if isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit()):
            row = self.one("SELECT * FROM users WHERE id = ?", int(ident))
        if row is None and isinstance(ident, str):
            row = self.one(
                "SELECT * FROM users WHERE username = ? OR email = ? OR employee_id = ?", ident, ident, ident
            )
        if row is None:
            raise not_found("user", ident)
        return row


def page(rows: Iterable[dict[str, Any]], limit: int | None, offset: int = 0) -> list[dict[str, Any]]:
    rows = list(rows)
    return rows[offset: offset + limit] if limit else rows[offset:]
