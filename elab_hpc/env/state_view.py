"""The state of an external MCP server as tables, seen only through its own read tools.

A server we do not own has no SQL to inspect, so its state is what its listing tools return
(`list_assets`, `list_tickets`: read tools with no required parameter, or the ones named in the
config). Each such tool gives one table (`<app>_<entity>`, e.g. `helpdesk_asset`) whose rows are
the listed records' scalar fields (nested values as JSON text). Every table has an `id` column:
the record's own `id`, else its first key-like field (`username`, `key`, `name`, ...).

With that, the arena's machinery applies unchanged: `diff(before, after)` has the arena's
format (inserted / updated / deleted per table), so `derive_checks` turns it into `row_exists` /
`field_equals` / `row_absent` checks, and `StateDB` answers the checks' read-only SQL. The state
hash leaves out volatile columns (ids, timestamps: checks.VOLATILE_COLUMNS), so a replay after
a reseed hashes equal even where the server stamps the clock.

Limits: records a listing tool does not return (past its page size) are invisible; a server whose
listings are paginated should name a state tool with a large page in `state_tools` args.
"""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from typing import Any, Dict, List, Optional

from elab_hpc.env.checks import VOLATILE_COLUMNS

Rows = Dict[str, List[Dict[str, Any]]]  # table -> rows
KEY_FIELDS = ("id", "uuid", "key", "username", "login", "email", "name", "path", "slug")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def table_name(app: str, entity: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{app}_{entity}")


def listed_items(result: Any) -> Optional[List[Dict[str, Any]]]:
    """The records a listing result holds: its longest list of objects (an empty list counts:
    an empty table is still a table). None when the result holds no list at all."""
    if isinstance(result, list):
        return [r for r in result if isinstance(r, dict)]
    if not isinstance(result, dict):
        return None
    best: Optional[List[Dict[str, Any]]] = None
    for value in result.values():
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            if best is None or len(value) > len(best):
                best = value
    return best


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)  # how checks._sql_value binds a nested expected value
    return value


def rows_of(items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Records → table rows: identifier-safe scalar columns plus the `id` column."""
    rows = [{k: _cell(v) for k, v in item.items() if isinstance(k, str) and _IDENT.match(k)} for item in items]
    if rows and not all("id" in r for r in rows):
        key = next((f for f in KEY_FIELDS[1:] if all(r.get(f) not in (None, "") for r in rows)
                    and len({str(r[f]) for r in rows}) == len(rows)), None)  # present and unique
        for i, r in enumerate(rows):
            r["id"] = r.get(key) if key else i + 1
    return rows


def state_hash(tables: Rows) -> str:
    stable = {t: sorted(json.dumps({k: v for k, v in r.items() if k not in VOLATILE_COLUMNS}, sort_keys=True,
                                   default=str) for r in rows)
              for t, rows in sorted(tables.items())}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()


def diff(before: Rows, after: Rows) -> Dict[str, Dict[str, List[Dict[str, Any]]]]:
    """Net changes per table in the arena's `Episode.diff()` format, rows matched by `id`."""
    out: Dict[str, Dict[str, List[Dict[str, Any]]]] = {}
    for table in sorted(set(before) | set(after)):
        old = {str(r.get("id")): r for r in before.get(table, [])}
        new = {str(r.get("id")): r for r in after.get(table, [])}
        entry = {"inserted": [new[k] for k in new if k not in old],
                 "deleted": [old[k] for k in old if k not in new],
                 "updated": []}
        for k in new:
            if k in old and new[k] != old[k]:
                cols = sorted(set(new[k]) | set(old[k]))
                changes = {c: {"before": old[k].get(c), "after": new[k].get(c)} for c in cols
                           if old[k].get(c) != new[k].get(c)}
                entry["updated"].append({"id": new[k].get("id"), "changes": changes, "after": new[k]})
        if entry["inserted"] or entry["deleted"] or entry["updated"]:
            out[table] = entry
    return out


class StateDB:
    """One snapshot's rows as an in-memory SQLite database with the given columns per table
    (every table and column ever seen, so a check written against a later state still finds its
    table, empty, in an earlier one)."""

    def __init__(self, tables: Rows, columns: Dict[str, List[str]]):
        self.db = sqlite3.connect(":memory:")
        self.db.row_factory = lambda cur, row: {d[0]: v for d, v in zip(cur.description, row)}
        for table, cols in columns.items():
            names = cols or ["id"]
            self.db.execute(f"CREATE TABLE {table} ({', '.join(names)})")  # names matched _IDENT
            rows = tables.get(table, [])
            if rows:
                self.db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(names))})",
                                    [tuple(r.get(c) for c in names) for r in rows])

    def query(self, sql: str, *args: Any) -> List[Dict[str, Any]]:
        if not sql.lstrip().lower().startswith(("select", "with")):
            raise ValueError("state queries are read-only")
        return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        self.db.close()


def merge_columns(columns: Dict[str, List[str]], tables: Rows) -> bool:
    """Add the tables' columns to `columns` (in place); True when something new appeared."""
    grew = False
    for table, rows in tables.items():
        if table not in columns:
            columns[table] = []
            grew = True
        known = columns[table]
        for r in rows:
            for c in r:
                if c not in known:
                    known.append(c)
                    grew = True
    return grew
