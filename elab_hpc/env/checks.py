"""Verifiable task checks: plain JSON-able dicts executed against an arena episode and the
agent's final answer. Success is decided by running them, never by a model's opinion.

Check kinds (every check has `type`):

  row_exists          {table, where: {col: value}}                 a row with exactly these values
  row_absent          {table, where: {col: value}}                 no such row
  row_count           {table, where, op, value}                    COUNT(*) <op> value; op in OPS
  field_equals        {table, where, column, value}                every matching row (≥1) has column == value
  answer_contains     {value}                                      case-insensitive substring of the answer
  answer_matches_any  {values: [...]}                              the answer contains at least one of them
  probe               {tool, args, path, equals | contains}        for non-arena MCP environments: call a
                                                                   read-only tool via `call(tool, args)`
                                                                   and compare the value at `path`

`run_checks(checks, episode, answer, call=None) -> [{check, passed, detail}]`. Table and column
names are validated against `episode.world.columns` and only then placed in SQL (as identifiers
known to exist); values are always bound parameters. A malformed check raises `CheckError`
naming the check and key before any check runs.

`derive_checks(diff, ...)` turns an executed trajectory's `Episode.diff()` into state
assertions (inserted rows → row_exists on the columns the agent chose; updated rows →
field_equals per changed column; deleted rows → row_absent), skipping bookkeeping tables and
volatile columns (ids, timestamps, hashes, generated numbers).
"""
from __future__ import annotations

import json
import operator
import re
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set

from elab_hpc.errors import UserError

CHECK_TYPES = ("row_exists", "row_absent", "row_count", "field_equals", "answer_contains",
               "answer_matches_any", "probe")
OPS: Dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
}
# tables that record side effects, not the task's outcome
BOOKKEEPING_TABLES = {"notifications", "_before"}
# columns the system fills in (clock, hashes, generated sequence numbers): never asserted
VOLATILE_COLUMNS = {
    "id", "created_at", "updated_at", "modified_at", "recorded_at", "sent_at", "joined_at", "decided_at",
    "validated_at", "closed_at", "merged_at", "started_at", "finished_at", "close_at", "last_activity_at",
    "created_date", "last_modified_date", "closed_date", "datec", "date_creation", "date_valid", "date_approval",
    "posting_date", "applied_on", "posted_on", "sha", "commit_sha", "last_commit_sha", "parent_sha",
    "merge_commit_sha", "merge_parent_sha", "etag", "token", "message_key", "thread_key", "pass_hash",
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ROWS_PER_TABLE = 4  # a push of 50 files needs a few witnesses, not 50 checks


class CheckError(UserError):
    """A malformed check; the message names the check (by index) and the offending key."""


# --------------------------------------------------------------------------- validation

def _need(check: Dict[str, Any], i: int, key: str, kind: type | tuple) -> Any:
    if key not in check:
        raise CheckError(f"check {i} ({check.get('type')}): missing key {key!r}")
    value = check[key]
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise CheckError(f"check {i} ({check.get('type')}): {key!r} must be {want}, got {type(value).__name__}")
    return value


def _table_cols(check: Dict[str, Any], i: int, columns: Dict[str, List[str]]) -> List[str]:
    table = _need(check, i, "table", str)
    if table not in columns or not _IDENT.match(table):
        raise CheckError(f"check {i} ({check['type']}): unknown table {table!r}")
    return columns[table]


def _check_cols(check: Dict[str, Any], i: int, cols: Sequence[str], names: Iterable[str]) -> None:
    for c in names:
        if c not in cols or not _IDENT.match(c):
            raise CheckError(f"check {i} ({check['type']}): table {check['table']!r} has no column {c!r}")


def validate_check(check: Any, i: int = 0, columns: Optional[Dict[str, List[str]]] = None) -> None:
    """Raise CheckError if `check` is malformed (or names tables/columns `columns` lacks)."""
    if not isinstance(check, dict):
        raise CheckError(f"check {i}: must be an object, got {type(check).__name__}")
    kind = check.get("type")
    if kind not in CHECK_TYPES:
        raise CheckError(f"check {i}: unknown type {kind!r}; known: {', '.join(CHECK_TYPES)}")
    if kind in ("row_exists", "row_absent", "row_count", "field_equals"):
        where = _need(check, i, "where", dict)
        if columns is not None:
            cols = _table_cols(check, i, columns)
            _check_cols(check, i, cols, where)
            if kind == "field_equals":
                _check_cols(check, i, cols, [_need(check, i, "column", str)])
        else:
            _need(check, i, "table", str)
        if kind == "row_count":
            op = _need(check, i, "op", str)
            if op not in OPS:
                raise CheckError(f"check {i} (row_count): op {op!r} is not one of {', '.join(OPS)}")
            value = _need(check, i, "value", int)
            if isinstance(value, bool):
                raise CheckError(f"check {i} (row_count): 'value' must be int, got bool")
        if kind == "field_equals":
            _need(check, i, "column", str)
            if "value" not in check:
                raise CheckError(f"check {i} (field_equals): missing key 'value'")
    elif kind == "answer_contains":
        if "value" not in check or check["value"] in (None, ""):
            raise CheckError(f"check {i} (answer_contains): missing or empty 'value'")
    elif kind == "answer_matches_any":
        values = _need(check, i, "values", list)
        if not values:
            raise CheckError(f"check {i} (answer_matches_any): 'values' is empty")
    elif kind == "probe":
        _need(check, i, "tool", str)
        if not isinstance(check.get("args", {}), dict):
            raise CheckError(f"check {i} (probe): 'args' must be object")
        _need(check, i, "path", str)
        if ("equals" in check) == ("contains" in check):
            raise CheckError(f"check {i} (probe): give exactly one of 'equals' or 'contains'")


# --------------------------------------------------------------------------- execution

def _select(episode: Any, table: str, where: Dict[str, Any], what: str) -> List[Dict[str, Any]]:
    # names were validated against the world's columns; values are parameters (IS matches NULL too)
    clause = " AND ".join(f"{c} IS ?" for c in where) or "1"
    return episode.query(f"SELECT {what} FROM {table} WHERE {clause}", *[_sql_value(v) for v in where.values()])


def _sql_value(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    if isinstance(v, bool):
        return int(v)
    return v


def _at_path(obj: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        if isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        elif isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            raise KeyError(part)
    return obj


def _contains(answer: str, value: Any) -> bool:
    v = str(value).strip().lower()
    if len(v) <= 3:  # "IT", "3": as a whole word, not inside "with" or "2023"
        return re.search(rf"(?<![a-z0-9]){re.escape(v)}(?![a-z0-9])", answer.lower()) is not None
    return v in answer.lower()


def run_check(check: Dict[str, Any], episode: Any, answer: str, call: Optional[Callable] = None) -> Dict[str, Any]:
    kind = check["type"]
    passed = False
    detail = ""
    if kind in ("row_exists", "row_absent"):
        n = _select(episode, check["table"], check["where"], "COUNT(*) AS n")[0]["n"]
        passed = n > 0 if kind == "row_exists" else n == 0
        detail = f"{n} matching row(s) in {check['table']}"
    elif kind == "row_count":
        n = _select(episode, check["table"], check["where"], "COUNT(*) AS n")[0]["n"]
        passed = OPS[check["op"]](n, check["value"])
        detail = f"count {n} {check['op']} {check['value']}"
    elif kind == "field_equals":
        col = check["column"]
        rows = _select(episode, check["table"], check["where"], f"{col} AS v")
        want = _sql_value(check["value"])
        got = [r["v"] for r in rows]
        passed = bool(rows) and all(g == want or (g is not None and str(g) == str(want)) for g in got)
        detail = f"{col} = {got[:3]!r}" if rows else f"no row in {check['table']} matches {check['where']}"
    elif kind == "answer_contains":
        passed = _contains(answer or "", check["value"])
        detail = f"answer {'contains' if passed else 'lacks'} {check['value']!r}"
    elif kind == "answer_matches_any":
        hits = [v for v in check["values"] if _contains(answer or "", v)]
        passed = bool(hits)
        detail = f"matched {hits[:3]!r}" if hits else "answer contains none of the values"
    elif kind == "probe":
        if call is None:
            return {"check": check, "passed": False, "detail": "probe needs a `call` function"}
        obs = call(check["tool"], dict(check.get("args") or {}))
        ok = obs.get("ok") if isinstance(obs, dict) else getattr(obs, "ok", False)
        result = obs.get("result") if isinstance(obs, dict) else getattr(obs, "result", None)
        if not ok:
            return {"check": check, "passed": False, "detail": f"probe call {check['tool']} failed"}
        try:
            value = _at_path(result, check["path"])
        except KeyError as exc:
            return {"check": check, "passed": False, "detail": f"path {check['path']!r}: no key {exc}"}
        if "equals" in check:
            passed = value == check["equals"]
        else:
            needle = check["contains"]
            passed = needle in value if isinstance(value, (list, dict)) else _contains(str(value), needle)
        detail = f"{check['path']} = {str(value)[:80]!r}"
    return {"check": check, "passed": bool(passed), "detail": detail}


def run_checks(checks: List[Dict[str, Any]], episode: Any, answer: str = "",
               call: Optional[Callable[[str, Dict[str, Any]], Any]] = None) -> List[Dict[str, Any]]:
    """Validate every check first (a bad one raises CheckError, nothing runs), then run them."""
    columns = getattr(getattr(episode, "world", None), "columns", None) if episode is not None else None
    for i, c in enumerate(checks):
        validate_check(c, i, columns)
        if c["type"] in ("row_exists", "row_absent", "row_count", "field_equals") and columns is None:
            raise CheckError(f"check {i} ({c['type']}): needs an arena episode (with world.columns)")
    return [run_check(c, episode, answer, call) for c in checks]


def all_passed(results: List[Dict[str, Any]]) -> bool:
    return all(r["passed"] for r in results)


# --------------------------------------------------------------------------- derivation

def scalar_values(obj: Any, out: Optional[Set[str]] = None) -> Set[str]:
    """Every scalar inside args (JSON strings are parsed too), as strings, for matching columns."""
    if out is None:
        out = set()
    if isinstance(obj, dict):
        for v in obj.values():
            scalar_values(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            scalar_values(v, out)
    elif isinstance(obj, str):
        out.add(obj)
        s = obj.strip()
        if s[:1] in "{[":
            try:
                scalar_values(json.loads(s), out)
            except ValueError:
                pass
    elif isinstance(obj, bool):
        out.add(str(int(obj)))
    elif obj is not None:
        out.add(str(obj))
        if isinstance(obj, float) and obj.is_integer():
            out.add(str(int(obj)))
    return out


def _distinctive(value: Any) -> bool:
    """A value that singles a row out (a name, an amount), unlike a flag or a tiny code."""
    if isinstance(value, str):
        return len(value) >= 3
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value not in (0, 1)
    return False


def _fk_like(col: str) -> bool:
    return col.endswith("_id") or col in ("socid", "fk_user", "parent")


def derive_checks(diff: Dict[str, Dict[str, List[Dict[str, Any]]]], args_values: Optional[Set[str]] = None,
                  answers: Sequence[Any] = (), max_rows_per_table: int = MAX_ROWS_PER_TABLE) -> List[Dict[str, Any]]:
    """State assertions from an executed trajectory's diff, plus answer facts.

    `args_values` (see `scalar_values`): the values the agent chose; an inserted row is asserted
    on the columns holding one of them (what the task asked for), not on generated columns.
    Without it, every non-volatile column is used. Foreign keys to rows inserted in the same
    trajectory are left out (their ids depend on how many rows the agent created). `answers`:
    values the final answer must mention (→ answer_contains)."""
    checks: List[Dict[str, Any]] = []
    new_ids = {str(r.get("id")) for t, e in diff.items() for r in e.get("inserted", []) if r.get("id") is not None}
    for table in sorted(diff):
        if table in BOOKKEEPING_TABLES or table.startswith("_"):
            continue
        entry = diff[table]
        for row in entry.get("inserted", [])[:max_rows_per_table]:
            stable = {col: val for col, val in row.items()
                      if col not in VOLATILE_COLUMNS and val not in (None, "")
                      and not (_fk_like(col) and str(val) in new_ids)}
            where = stable if args_values is None else {c: v for c, v in stable.items() if str(v) in args_values}
            if args_values is not None and not any(_distinctive(v) for v in where.values()):
                # only flags matched (is_read = 0): take columns built from the agent's text instead
                # (a reply's body quotes the original after the text the agent wrote)
                long_args = [a for a in args_values if len(a) >= 24 and a.count(" ") >= 3]  # sentences, not names
                where.update({c: v for c, v in stable.items()
                              if isinstance(v, str) and any(a in v for a in long_args)})
            if where and any(_distinctive(v) for v in where.values()):
                checks.append({"type": "row_exists", "table": table, "where": where})
        for upd in entry.get("updated", [])[:max_rows_per_table]:
            rid = upd["after"].get("id", upd.get("id"))
            for col, change in sorted(upd["changes"].items()):
                if col in VOLATILE_COLUMNS:
                    continue
                checks.append({"type": "field_equals", "table": table, "where": {"id": rid}, "column": col,
                               "value": change["after"]})
        for row in entry.get("deleted", [])[:max_rows_per_table]:
            where = {"id": row["id"]} if row.get("id") is not None else {}
            # a second column guards against the id being reused by a later insert
            for col in ("name", "title", "path", "tag", "doc_id"):
                if row.get(col) not in (None, ""):
                    where[col] = row[col]
                    break
            if where:
                checks.append({"type": "row_absent", "table": table, "where": where})
    for value in answers:
        if value not in (None, ""):
            checks.append({"type": "answer_contains", "value": str(value)})
    return checks
