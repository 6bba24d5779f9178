"""MongoDB query, update and aggregation semantics over plain JSON documents (dicts).

Pure functions, no database: `matches(doc, filter)`, `project`, `sort_docs`, `apply_update`,
`aggregate`. Bad operators raise QueryError naming the operator; the tools turn that into an
`invalid_arguments` ToolError."""
from __future__ import annotations

import copy
import re
from typing import Any, Iterable

_MISSING = object()


class QueryError(ValueError):
    pass


class UpdateError(ValueError):
    """A well-formed update that cannot apply to this document (e.g. $inc on a string)."""


# -- paths -------------------------------------------------------------------------------
def values_at(doc: Any, path: str) -> list[Any]:
    """All values a dotted path reaches; arrays on the way fan out (Mongo's implicit traversal)."""
    current = [doc]
    for part in path.split("."):
        nxt = []
        for value in current:
            if isinstance(value, dict):
                if part in value:
                    nxt.append(value[part])
            elif isinstance(value, list):
                if part.isdigit() and int(part) < len(value):
                    nxt.append(value[int(part)])
                else:
                    nxt.extend(v[part] for v in value if isinstance(v, dict) and part in v)
        current = nxt
    return current


def get_path(doc: dict, path: str, default: Any = None) -> Any:
    vals = values_at(doc, path)
    return vals[0] if vals else default


def _set_path(doc: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    cur: Any = doc
    for part in parts[:-1]:
        if isinstance(cur, list) and part.isdigit():
            cur = cur[int(part)]
            continue
        if not isinstance(cur, dict):
            raise UpdateError(f"cannot create field {part!r} inside a non-object value at {path!r}")
        cur = cur.setdefault(part, {})
    if isinstance(cur, list) and parts[-1].isdigit() and int(parts[-1]) < len(cur):
        cur[int(parts[-1])] = value
    elif isinstance(cur, dict):
        cur[parts[-1]] = value
    else:
        raise UpdateError(f"cannot set {path!r}: its parent is not an object")


def _unset_path(doc: dict, path: str) -> None:
    parts = path.split(".")
    cur: Any = doc
    for part in parts[:-1]:
        cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


# -- comparison ------------------------------------------------------------------------
def _rank(v: Any) -> int:
    if v is None or v is _MISSING:
        return 0
    if isinstance(v, bool):
        return 5
    if isinstance(v, (int, float)):
        return 1
    if isinstance(v, str):
        return 2
    if isinstance(v, dict):
        return 3
    return 4


def sort_key(v: Any) -> tuple:
    r = _rank(v)
    if r in (1, 2, 5):
        return (r, v)
    if r == 0:
        return (0, 0)
    return (r, repr(v))


def _eq(candidate: Any, value: Any) -> bool:
    if candidate == value and _rank(candidate) == _rank(value):
        return True
    return isinstance(candidate, list) and not isinstance(value, list) and any(
        c == value and _rank(c) == _rank(value) for c in candidate)


def _cmp(candidate: Any, value: Any, op: str) -> bool:
    items = candidate if isinstance(candidate, list) else [candidate]
    for c in items:
        if _rank(c) != _rank(value) or _rank(c) in (0, 3, 4):
            continue
        if (op == "$gt" and c > value) or (op == "$gte" and c >= value) or \
           (op == "$lt" and c < value) or (op == "$lte" and c <= value):
            return True
    return False


def _regex(spec: Any, options: str = "") -> re.Pattern:
    flags = 0
    for ch in options:
        flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}.get(ch, 0)
        if ch not in "imsx":
            raise QueryError(f"$options: unknown regex option {ch!r}")
    try:
        return re.compile(spec, flags)
    except (re.error, TypeError) as exc:
        raise QueryError(f"$regex: invalid pattern {spec!r}: {exc}") from None


def _match_ops(cands: list[Any], ops: dict[str, Any]) -> bool:
    for op, arg in ops.items():
        if op == "$options":
            continue
        if op == "$eq":
            ok = any(_eq(c, arg) for c in cands) or (arg is None and not cands)
        elif op == "$ne":
            ok = not (any(_eq(c, arg) for c in cands) or (arg is None and not cands))
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            ok = any(_cmp(c, arg, op) for c in cands)
        elif op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise QueryError(f"{op} needs an array")
            hit = any(_eq(c, a) for c in cands for a in arg) or (None in arg and not cands)
            ok = hit if op == "$in" else not hit
        elif op == "$exists":
            ok = bool(cands) == bool(arg)
        elif op == "$regex":
            pat = _regex(arg, ops.get("$options", ""))
            ok = any(isinstance(s, str) and pat.search(s) for c in cands
                     for s in (c if isinstance(c, list) else [c]))
        elif op == "$size":
            ok = any(isinstance(c, list) and len(c) == arg for c in cands)
        elif op == "$all":
            if not isinstance(arg, list):
                raise QueryError("$all needs an array")
            ok = any(isinstance(c, list) and all(a in c for a in arg) for c in cands)
        elif op == "$elemMatch":
            ok = any(isinstance(c, list) and any(
                matches(e, arg) if isinstance(e, dict) else _match_ops([e], arg) for e in c) for c in cands)
        elif op == "$not":
            if not isinstance(arg, dict):
                raise QueryError("$not needs an operator expression")
            ok = not _match_ops(cands, arg)
        else:
            raise QueryError(f"unknown query operator {op!r}")
        if not ok:
            return False
    return True


def _is_ops(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(k.startswith("$") for k in value)


def matches(doc: dict, flt: dict[str, Any] | None) -> bool:
    """True if the document satisfies a MongoDB filter."""
    if not flt:
        return True
    if not isinstance(flt, dict):
        raise QueryError("a filter must be an object")
    for key, cond in flt.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(cond, list) or not cond:
                raise QueryError(f"{key} needs a non-empty array of filters")
            results = (matches(doc, c) for c in cond)
            ok = all(results) if key == "$and" else (any(results) if key == "$or" else not any(results))
        elif key.startswith("$"):
            raise QueryError(f"unknown top-level operator {key!r}")
        else:
            cands = values_at(doc, key)
            if _is_ops(cond):
                ok = _match_ops(cands, cond)
            elif isinstance(cond, dict) and any(k.startswith("$") for k in cond):
                raise QueryError(f"{key}: cannot mix operators and fields in {cond!r}")
            else:
                ok = any(_eq(c, cond) for c in cands) or (cond is None and not cands)
        if not ok:
            return False
    return True


def check_filter(flt: Any) -> None:
    """Raise QueryError for an invalid filter even when the collection is empty."""
    matches({}, flt)


def sql_prefilter(flt: dict[str, Any] | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (on column `body`) that every matching document satisfies: equality on
    plain fields narrows the scan through json_extract; the Python filter stays the judge."""
    conds: list[str] = []
    args: list[Any] = []
    for key, cond in (flt or {}).items():
        if key.startswith("$") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
            continue
        if _is_ops(cond):
            if set(cond) == {"$eq"}:
                cond = cond["$eq"]
            else:
                continue
        if not isinstance(cond, (str, int, float)) or isinstance(cond, bool):
            continue
        parts = key.split(".")
        ors = [f"json_extract(body, '$.{key}') = ?"]
        ors += [f"json_type(body, '$.{'.'.join(parts[:i])}') = 'array'" for i in range(1, len(parts) + 1)]
        conds.append("(" + " OR ".join(ors) + ")")
        args.append(cond)
    return conds, args


# -- projection and sort ---------------------------------------------------------------
def project(doc: dict, projection: dict[str, Any] | None) -> dict:
    if not projection:
        return doc
    include = {k for k, v in projection.items() if k != "_id" and v not in (0, False)}
    exclude = {k for k, v in projection.items() if k != "_id" and v in (0, False)}
    if include and exclude:
        raise QueryError("a projection cannot mix inclusion and exclusion (except for _id)")
    keep_id = projection.get("_id", 1) not in (0, False)
    if include:
        out: dict[str, Any] = {}
        if keep_id and "_id" in doc:
            out["_id"] = doc["_id"]
        for path in include:
            vals = values_at(doc, path)
            if vals:
                _set_path(out, path, copy.deepcopy(vals[0]))
        return out
    out = copy.deepcopy(doc)
    for path in exclude:
        _unset_path(out, path)
    if not keep_id:
        out.pop("_id", None)
    return out


def sort_docs(docs: list[dict], sort: dict[str, Any] | None) -> list[dict]:
    if not sort:
        return docs
    for field, direction in reversed(list(sort.items())):
        if direction not in (1, -1):
            raise QueryError(f"sort direction for {field!r} must be 1 or -1")
        docs = sorted(docs, key=lambda d: sort_key(get_path(d, field, None)), reverse=direction == -1)
    return docs


# -- updates ---------------------------------------------------------------------------
UPDATE_OPS = ("$set", "$unset", "$inc", "$push", "$pull", "$addToSet")


def check_update(update: Any) -> None:
    if not isinstance(update, dict) or not update:
        raise QueryError("update must be a non-empty object of update operators")
    for op, fields in update.items():
        if op not in UPDATE_OPS:
            raise QueryError(f"unknown update operator {op!r}; use one of {', '.join(UPDATE_OPS)}")
        if not isinstance(fields, dict) or not fields:
            raise QueryError(f"{op} needs an object of field: value")
        for path in fields:
            if path == "_id" or path.startswith("_id."):
                raise QueryError("the _id field is immutable")
        if op == "$inc":
            for path, v in fields.items():
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise QueryError(f"$inc of {path!r} needs a number, got {v!r}")


def apply_update(doc: dict, update: dict[str, Any]) -> dict:
    """A new document with the update operators applied."""
    out = copy.deepcopy(doc)
    for op, fields in update.items():
        for path, value in fields.items():
            current = get_path(out, path, _MISSING)
            if op == "$set":
                _set_path(out, path, copy.deepcopy(value))
            elif op == "$unset":
                _unset_path(out, path)
            elif op == "$inc":
                if current is _MISSING:
                    current = 0
                if isinstance(current, bool) or not isinstance(current, (int, float)):
                    raise UpdateError(f"cannot apply $inc to {path!r}: it holds a non-numeric value {current!r}")
                _set_path(out, path, current + value)
            elif op in ("$push", "$addToSet"):
                if current is _MISSING:
                    current = []
                if not isinstance(current, list):
                    raise UpdateError(f"cannot apply {op} to {path!r}: it is not an array")
                items = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
                new = list(current)
                for item in items:
                    if op == "$push" or item not in new:
                        new.append(copy.deepcopy(item))
                _set_path(out, path, new)
            elif op == "$pull":
                if isinstance(current, list):
                    keep = [x for x in current if not (matches(x, value) if isinstance(value, dict) and isinstance(x, dict)
                                                       else (_match_ops([x], value) if _is_ops(value) else x == value))]
                    _set_path(out, path, keep)
    return out


# -- aggregation -----------------------------------------------------------------------
def _expr(doc: dict, expr: Any) -> Any:
    """Field references ("$field"), literals and small object expressions."""
    if isinstance(expr, str) and expr.startswith("$"):
        return get_path(doc, expr[1:], None)
    if isinstance(expr, dict):
        if len(expr) == 1 and next(iter(expr)).startswith("$"):
            op, arg = next(iter(expr.items()))
            args = [_expr(doc, a) for a in (arg if isinstance(arg, list) else [arg])]
            nums = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
            if op == "$add":
                return sum(nums)
            if op == "$multiply":
                prod = 1
                for n in nums:
                    prod *= n
                return prod
            if op == "$subtract" and len(args) == 2 and len(nums) == 2:
                return args[0] - args[1]
            if op == "$divide" and len(args) == 2 and len(nums) == 2 and args[1]:
                return args[0] / args[1]
            if op == "$toLower":
                return str(args[0] or "").lower()
            if op == "$toUpper":
                return str(args[0] or "").upper()
            if op == "$concat":
                return "".join(str(a) for a in args if a is not None)
            if op == "$size":
                return len(args[0]) if isinstance(args[0], list) else 0
            if op == "$ifNull" and len(args) == 2:
                return args[1] if args[0] is None else args[0]
            if op == "$literal":
                return arg
            raise QueryError(f"unsupported expression operator {op!r}")
        return {k: _expr(doc, v) for k, v in expr.items()}
    return expr


ACCUMULATORS = ("$sum", "$avg", "$min", "$max", "$count", "$push", "$addToSet", "$first", "$last")


def _group(docs: Iterable[dict], spec: dict[str, Any]) -> list[dict]:
    if "_id" not in spec:
        raise QueryError("$group needs an _id (use null to group everything)")
    accs = {k: v for k, v in spec.items() if k != "_id"}
    for name, acc in accs.items():
        if not isinstance(acc, dict) or len(acc) != 1 or next(iter(acc)) not in ACCUMULATORS:
            raise QueryError(f"$group field {name!r} needs one accumulator of {', '.join(ACCUMULATORS)}")
    groups: dict[str, dict[str, Any]] = {}
    values: dict[str, dict[str, list[Any]]] = {}
    for doc in docs:
        key_val = _expr(doc, spec["_id"])
        key = repr(sort_key(key_val)) + repr(key_val)
        if key not in groups:
            groups[key] = {"_id": key_val}
            values[key] = {name: [] for name in accs}
        for name, acc in accs.items():
            op, arg = next(iter(acc.items()))
            values[key][name].append(1 if op == "$count" else _expr(doc, arg))
    out = []
    for key, row in groups.items():
        for name, acc in accs.items():
            op = next(iter(acc))
            vals = values[key][name]
            nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
            present = [v for v in vals if v is not None]
            if op in ("$sum", "$count"):
                row[name] = sum(nums)
            elif op == "$avg":
                row[name] = sum(nums) / len(nums) if nums else None
            elif op == "$min":
                row[name] = min(present, key=sort_key) if present else None
            elif op == "$max":
                row[name] = max(present, key=sort_key) if present else None
            elif op == "$push":
                row[name] = vals
            elif op == "$addToSet":
                row[name] = [v for i, v in enumerate(vals) if v not in vals[:i]]
            elif op == "$first":
                row[name] = vals[0] if vals else None
            elif op == "$last":
                row[name] = vals[-1] if vals else None
        out.append(row)
    return out


def _project_stage(doc: dict, spec: dict[str, Any]) -> dict:
    if all(v in (0, 1, True, False) for v in spec.values()):
        return project(doc, spec)
    out: dict[str, Any] = {}
    if spec.get("_id", 1) not in (0, False) and "_id" in doc:
        out["_id"] = doc["_id"]
    for k, v in spec.items():
        if k == "_id" and v in (0, 1, True, False):
            continue
        if v in (1, True):
            vals = values_at(doc, k)
            if vals:
                _set_path(out, k, vals[0])
        elif v not in (0, False):
            out[k] = _expr(doc, v)
    return out


STAGES = ("$match", "$group", "$sort", "$limit", "$skip", "$project", "$count", "$unwind")


def aggregate(docs: list[dict], pipeline: list[dict[str, Any]]) -> list[dict]:
    for i, stage in enumerate(pipeline):
        if not isinstance(stage, dict) or len(stage) != 1:
            raise QueryError(f"pipeline stage {i} must be an object with exactly one stage operator")
        name, spec = next(iter(stage.items()))
        if name == "$match":
            docs = [d for d in docs if matches(d, spec)]
        elif name == "$group":
            docs = _group(docs, spec)
        elif name == "$sort":
            docs = sort_docs(docs, spec)
        elif name in ("$limit", "$skip"):
            if isinstance(spec, bool) or not isinstance(spec, int) or spec < 0:
                raise QueryError(f"{name} needs a non-negative integer")
            docs = docs[:spec] if name == "$limit" else docs[spec:]
        elif name == "$project":
            if not isinstance(spec, dict):
                raise QueryError("$project needs an object")
            docs = [_project_stage(d, spec) for d in docs]
        elif name == "$count":
            if not isinstance(spec, str) or not spec:
                raise QueryError("$count needs the output field name")
            docs = [{spec: len(docs)}]
        elif name == "$unwind":
            path = spec["path"] if isinstance(spec, dict) else spec
            if not isinstance(path, str) or not path.startswith("$"):
                raise QueryError("$unwind needs a field path like \"$tags\"")
            out = []
            for d in docs:
                arr = get_path(d, path[1:], None)
                for item in arr if isinstance(arr, list) else ([] if arr is None else [arr]):
                    nd = copy.deepcopy(d)
                    _set_path(nd, path[1:], item)
                    out.append(nd)
            docs = out
        else:
            raise QueryError(f"unsupported pipeline stage {name!r}; supported: {', '.join(STAGES)}")
    return docs


# -- SQL translation -------------------------------------------------------------------
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NUM_TYPES = "('integer', 'real')"


class _NoSQL(Exception):
    pass


def _scalar_sql(jp: str, op: str, arg: Any, args: list[Any]) -> str:
    """Exact MongoDB semantics of `field <op> arg` for a document whose path holds no array."""
    t = f"json_type(body, '{jp}')"
    v = f"json_extract(body, '{jp}')"
    if op in ("$eq", "$ne"):
        if arg is None:
            cond = f"({t} IS NULL OR {t} = 'null')"
        elif isinstance(arg, bool):
            cond = f"COALESCE({t} = '{'true' if arg else 'false'}', 0)"
        elif isinstance(arg, (int, float)):
            args.append(arg)
            cond = f"COALESCE({t} IN {_NUM_TYPES} AND {v} = ?, 0)"
        elif isinstance(arg, str):
            args.append(arg)
            # json_extract gives objects as JSON text: only a JSON-looking string could collide with one
            cond = f"COALESCE({t} = 'text' AND {v} = ?, 0)" if arg[:1] in "{[" else f"COALESCE({v} = ?, 0)"
        else:
            raise _NoSQL
        return cond if op == "$eq" else f"NOT {cond}"
    if op in ("$gt", "$gte", "$lt", "$lte"):
        sym = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
        if isinstance(arg, bool) or not isinstance(arg, (int, float, str)):
            raise _NoSQL
        args.append(arg)
        types = "('text')" if isinstance(arg, str) else _NUM_TYPES
        return f"COALESCE({t} IN {types} AND {v} {sym} ?, 0)"
    if op in ("$in", "$nin"):
        if not isinstance(arg, list) or not arg:
            raise _NoSQL
        cond = "(" + " OR ".join(_scalar_sql(jp, "$eq", a, args) for a in arg) + ")"
        return cond if op == "$in" else f"NOT {cond}"
    if op == "$exists":
        return f"({t} IS NOT NULL)" if arg else f"({t} IS NULL)"
    raise _NoSQL


def _filter_sql(flt: dict[str, Any], args: list[Any], paths: set[str]) -> str:
    parts = []
    for key, cond in flt.items():
        if key in ("$and", "$or", "$nor"):
            subs = [_filter_sql(c, args, paths) for c in cond]
            joined = "(" + (" AND " if key == "$and" else " OR ").join(subs) + ")"
            parts.append(f"NOT {joined}" if key == "$nor" else joined)
            continue
        if key.startswith("$") or not _KEY.match(key):
            raise _NoSQL
        paths.add(key)
        jp = "$." + key
        if _is_ops(cond):
            parts += [_scalar_sql(jp, op, arg, args) for op, arg in cond.items()]
        elif isinstance(cond, (dict, list)):
            raise _NoSQL
        else:
            parts.append(_scalar_sql(jp, "$eq", cond, args))
    return "(" + " AND ".join(parts) + ")" if parts else "1"


def anchor_sql(flt: dict[str, Any] | None, indexed: Iterable[str]) -> tuple[str, list[Any]] | None:
    """(expression, values): equality (or $in) on an indexed top-level field, which every matching
    document satisfies — unless the field holds an array, whose JSON text starts with '['. SQLite
    answers both from the expression index on `json_extract(body, '$.<field>')`."""
    for key, cond in (flt or {}).items():
        if key not in indexed:
            continue
        if _is_ops(cond) and len(cond) == 1 and set(cond) <= {"$eq", "$in"}:
            values = cond["$in"] if "$in" in cond else [cond["$eq"]]
        elif not isinstance(cond, (dict, list)):
            values = [cond]
        else:
            continue
        if isinstance(values, list) and values and all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            return f"json_extract(body, '$.{key}')", list(values)
    return None


def to_sql(flt: dict[str, Any] | None) -> tuple[str, list[Any], str] | None:
    """(condition, args, array_guard) with the filter's exact meaning for every document where the
    guard is false (no array on any filtered path); documents where it is true need `matches`.
    None if the filter uses something SQL cannot express (e.g. $regex): then use `sql_prefilter`."""
    if not flt:
        return "1", [], "0"
    args: list[Any] = []
    paths: set[str] = set()
    try:
        cond = _filter_sql(flt, args, paths)
    except _NoSQL:
        return None
    prefixes = sorted({".".join(p.split(".")[:i]) for p in paths for i in range(1, len(p.split(".")) + 1)})
    guard = " OR ".join(f"COALESCE(json_type(body, '$.{p}') = 'array', 0)" for p in prefixes) or "0"
    return cond, args, f"({guard})"
