import calendar
import json
import time
from typing import Annotated, Any

from pydantic import Field

from arena.apps.docstore import app, query
from arena.apps.docstore.schema import INDEXED_FIELDS
from arena.core.errors import ToolError

DEFAULT_DB = "acme"
MAX_FIND = 1000
TYPES = {"string": str, "number": (int, float), "int": int, "bool": bool, "array": list, "object": dict}

Database = Annotated[str, Field(description="Database name (the company database is 'acme')")]
Collection = Annotated[str, Field(description="Collection name, e.g. assets, feedback, kb_articles")]
Filter = Annotated[dict[str, Any] | None, Field(description="MongoDB query filter, e.g. {\"status\": \"in_use\", "
                                                            "\"cost\": {\"$gte\": 1000}}; empty matches all")]
Update = Annotated[dict[str, Any], Field(description="Update operators: $set, $unset, $inc, $push, $pull, $addToSet")]


def _collection(ctx, database: str, collection: str) -> dict:
    row = ctx.one("SELECT * FROM ds_collections WHERE database = ? AND name = ?", database, collection)
    if row is None:
        if not ctx.one("SELECT 1 FROM ds_collections WHERE database = ?", database):
            raise ToolError("not_found", f"database {database!r} not found", entity="database", key=database)
        raise ToolError("not_found", f"collection {database}.{collection} not found", entity="collection",
                        key=collection)
    return row


def _may_write(ctx, coll: dict) -> None:
    if coll["write_roles"]:
        ctx.require_role(*coll["write_roles"].split(","), action=f"write to the {coll['name']} collection")


def _guard(fn, *args):
    try:
        return fn(*args)
    except query.QueryError as exc:
        raise ToolError("invalid_arguments", str(exc)) from None
    except query.UpdateError as exc:
        raise ToolError("rule_violation", str(exc)) from None


def _scan(ctx, coll: dict, flt: dict | None, limit: int | None = None) -> tuple[list[tuple[int, dict]], int]:
    """The first `limit` matching documents as (row id, document) in insertion order (all if None),
    and how many match in total — in one pass over the collection. Filters SQL can express run in
    SQLite; documents holding an array on a filtered path, and filters with $regex & co, are judged
    by the Python evaluator (the reference semantics)."""
    _guard(query.check_filter, flt)
    exact = query.to_sql(flt)
    if exact is not None:
        cond, args, guard = exact
        head = f"SELECT id, {guard} AS g FROM ds_documents WHERE collection_id = ?"  # bodies: only those needed
        anchor = query.anchor_sql(flt, INDEXED_FIELDS)
        if anchor:  # two index lookups: the wanted values, and arrays in that field
            expr, vals = anchor
            marks = ", ".join("?" * len(vals))
            rows = ctx.all(f"{head} AND {expr} IN ({marks}) AND ({guard} OR {cond}) UNION ALL "
                           f"{head} AND {expr} BETWEEN '[' AND '[\U0010ffff' AND {expr} NOT IN ({marks}) "
                           f"AND ({guard} OR {cond}) ORDER BY id",
                           coll["id"], *vals, *args, coll["id"], *vals, *args)
        else:
            rows = ctx.all(f"{head} AND ({guard} OR {cond}) ORDER BY id", coll["id"], *args)
        return _finish(ctx, rows, flt, limit)
    conds, args = query.sql_prefilter(flt)
    rows = ctx.all("SELECT id, 1 AS g FROM ds_documents WHERE collection_id = ?"
                   + "".join(f" AND {c}" for c in conds) + " ORDER BY id", coll["id"], *args)
    return _finish(ctx, rows, flt, limit)


def _bodies(ctx, ids: list[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for r in ctx.all(f"SELECT id, body FROM ds_documents WHERE id IN ({','.join('?' * len(chunk))})", *chunk):
            out[r["id"]] = json.loads(r["body"])
    return out


def _finish(ctx, rows: list[dict], flt: dict | None, limit: int | None) -> tuple[list[tuple[int, dict]], int]:
    """Rows (id, g) in id order, g = 'judge in Python' -> the first `limit` documents and the total."""
    judged = _bodies(ctx, [r["id"] for r in rows if r["g"]])
    hits = [r["id"] for r in rows if not r["g"] or _guard(query.matches, judged[r["id"]], flt)]
    wanted = hits if limit is None else hits[:limit]
    docs = {**{i: judged[i] for i in wanted if i in judged}, **_bodies(ctx, [i for i in wanted if i not in judged])}
    return [(i, docs[i]) for i in wanted], len(hits)


def _load(ctx, coll: dict, flt: dict | None, limit: int | None = None) -> list[tuple[int, dict]]:
    return _scan(ctx, coll, flt, limit)[0]


def _validate(ctx, coll: dict, doc: dict, row_id: int | None) -> None:
    """The collection's $jsonSchema-like validator and unique indexes (MongoDB error 121 / 11000)."""
    if not isinstance(doc, dict):
        raise ToolError("invalid_arguments", "a document must be a JSON object")
    spec = json.loads(coll["validator"])
    problems = [f"missing required field {f!r}" for f in spec.get("required", []) if f not in doc]
    for field, rule in spec.get("properties", {}).items():
        if field not in doc:
            continue
        v = doc[field]
        want = rule.get("type")
        if want and (not isinstance(v, TYPES[want]) or (want in ("number", "int") and isinstance(v, bool))):
            problems.append(f"{field!r} must be of type {want}, got {type(v).__name__}")
        if "enum" in rule and v not in rule["enum"]:
            problems.append(f"{field!r} must be one of {rule['enum']}, got {v!r}")
        if "minimum" in rule and isinstance(v, (int, float)) and v < rule["minimum"]:
            problems.append(f"{field!r} must be >= {rule['minimum']}, got {v!r}")
    if problems:
        raise ToolError("rule_violation", f"Document failed validation for {coll['name']}: " + "; ".join(problems),
                        problems=problems)
    for key in json.loads(coll["unique_keys"]):
        if key not in doc:
            continue
        clash = ctx.one("SELECT doc_id FROM ds_documents WHERE collection_id = ? AND json_extract(body, ?) = ? "
                        "AND id IS NOT ?", coll["id"], f'$."{key}"', doc[key], row_id)
        if clash:
            raise ToolError("conflict", f"E11000 duplicate key error: {coll['name']}.{key} = {doc[key]!r} already "
                            f"exists (document {clash['doc_id']})", key=key, value=doc[key])


def _new_ids(ctx, n: int) -> list[str]:
    """ObjectId-shaped ids: the world's clock and the next row ids, so runs are reproducible."""
    ts = calendar.timegm(time.strptime(ctx.now[:19], "%Y-%m-%dT%H:%M:%S"))
    start = (ctx.scalar("SELECT MAX(id) FROM ds_documents") or 0) + 1
    return [f"{ts:08x}{start + i:016x}" for i in range(n)]


def _insert(ctx, coll: dict, docs: list[dict]) -> list[Any]:
    if not docs:
        raise ToolError("invalid_arguments", "no documents given")
    ids = _new_ids(ctx, len(docs))
    out = []
    for doc, new_id in zip(docs, ids):
        if not isinstance(doc, dict):
            raise ToolError("invalid_arguments", "every document must be a JSON object")
        if any(k.startswith("$") for k in doc):
            raise ToolError("invalid_arguments", "document field names may not start with '$'")
        doc = {"_id": doc.get("_id", new_id), **{k: v for k, v in doc.items() if k != "_id"}}
        _validate(ctx, coll, doc, None)
        key = doc["_id"] if isinstance(doc["_id"], str) else json.dumps(doc["_id"])
        if ctx.one("SELECT 1 FROM ds_documents WHERE collection_id = ? AND doc_id = ?", coll["id"], key):
            raise ToolError("conflict", f"E11000 duplicate key error: _id {doc['_id']!r} already exists in "
                            f"{coll['name']}", key="_id", value=doc["_id"])
        ctx.insert("ds_documents", collection_id=coll["id"], doc_id=key, body=json.dumps(doc, ensure_ascii=False))
        out.append(doc["_id"])
    return out


def _update(ctx, database: str, collection: str, flt: dict | None, update: dict, upsert: bool, many: bool) -> dict:
    coll = _collection(ctx, database, collection)
    _may_write(ctx, coll)
    _guard(query.check_update, update)
    hits = _load(ctx, coll, flt, None if many else 1)
    modified = 0
    for row_id, doc in hits:
        new = _guard(query.apply_update, doc, update)
        if new != doc:
            _validate(ctx, coll, new, row_id)
            ctx.update("ds_documents", row_id, body=json.dumps(new, ensure_ascii=False))
            modified += 1
    result: dict[str, Any] = {"matchedCount": len(hits), "modifiedCount": modified, "upsertedId": None}
    if not hits and upsert:
        base = {k: v for k, v in (flt or {}).items() if not k.startswith("$") and not query._is_ops(v)}
        seed = _guard(query.apply_update, base, update)
        result["upsertedId"] = _insert(ctx, coll, [seed])[0]
    return result


@app.tool(read_only=True)
def list_databases(ctx) -> dict:
    """List the databases with their number of collections and documents."""
    rows = ctx.all("SELECT c.database AS name, COUNT(DISTINCT c.id) AS collections, COUNT(d.id) AS documents "
                   "FROM ds_collections c LEFT JOIN ds_documents d ON d.collection_id = c.id GROUP BY c.database")
    return {"databases": rows}


@app.tool(read_only=True)
def list_collections(ctx, database: Database = DEFAULT_DB) -> dict:
    """List the collections of a database with their document counts."""
    rows = ctx.all("SELECT c.name, (SELECT COUNT(*) FROM ds_documents d WHERE d.collection_id = c.id) AS documents, "
                   "c.unique_keys FROM ds_collections c WHERE c.database = ? ORDER BY c.name", database)
    if not rows and not ctx.one("SELECT 1 FROM ds_collections WHERE database = ?", database):
        raise ToolError("not_found", f"database {database!r} not found", entity="database", key=database)
    return {"database": database,
            "collections": [{"name": r["name"], "documents": r["documents"],
                             "unique_keys": json.loads(r["unique_keys"])} for r in rows]}


@app.tool(read_only=True)
def collection_schema(ctx, collection: Collection, database: Database = DEFAULT_DB) -> dict:
    """Describe a collection: its fields with the JSON types seen in (up to 100) documents, and its validator."""
    coll = _collection(ctx, database, collection)
    fields: dict[str, set[str]] = {}
    for r in ctx.all("SELECT body FROM ds_documents WHERE collection_id = ? ORDER BY id LIMIT 100", coll["id"]):
        for k, v in json.loads(r["body"]).items():
            fields.setdefault(k, set()).add(
                "null" if v is None else next((n for n, t in TYPES.items() if n != "int" and isinstance(v, t)
                                               and not (n == "number" and isinstance(v, bool))), "unknown"))
    return {"collection": collection, "fields": {k: sorted(v) for k, v in fields.items()},
            "validator": json.loads(coll["validator"]), "unique_keys": json.loads(coll["unique_keys"])}


@app.tool(returns={"collection": "string", "created": "boolean"})
def create_collection(ctx, collection: Annotated[str, Field(description="New collection name",
                                                            pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")],
                      database: Database = DEFAULT_DB,
                      unique_keys: Annotated[list[str] | None, Field(description="Fields that must be unique")] = None,
                      required_fields: Annotated[list[str] | None, Field(description="Fields every document "
                                                                                     "must have")] = None) -> dict:
    """Create a collection, optionally with unique fields and required fields."""
    if ctx.one("SELECT 1 FROM ds_collections WHERE database = ? AND name = ?", database, collection):
        raise ToolError("conflict", f"collection {database}.{collection} already exists")
    ctx.insert("ds_collections", database=database, name=collection,
               validator=json.dumps({"required": required_fields} if required_fields else {}),
               unique_keys=json.dumps(unique_keys or []), write_roles="", created_by=ctx.actor["id"],
               created_at=ctx.now)
    return {"collection": collection, "created": True}


@app.tool(read_only=True)
def find(ctx, collection: Collection, filter: Filter = None,
         projection: Annotated[dict[str, Any] | None, Field(description="Fields to include (1) or exclude (0)")] = None,
         limit: Annotated[int, Field(description="Maximum number of documents", ge=1, le=MAX_FIND)] = 10,
         sort: Annotated[dict[str, Any] | None, Field(description="Sort spec, e.g. {\"cost\": -1}")] = None,
         database: Database = DEFAULT_DB) -> dict:
    """Find documents matching a MongoDB filter."""
    coll = _collection(ctx, database, collection)
    if sort:
        hits, total = _scan(ctx, coll, filter)
        docs = _guard(query.sort_docs, [d for _, d in hits], sort)
    else:  # natural order: only `limit` documents need decoding
        hits, total = _scan(ctx, coll, filter, limit)
        docs = [d for _, d in hits]
    docs = [_guard(query.project, d, projection) for d in docs[:limit]]
    return {"documents": docs, "returned": len(docs), "matched": total}


@app.tool(read_only=True)
def count_documents(ctx, collection: Collection, filter: Filter = None, database: Database = DEFAULT_DB) -> dict:
    """Count the documents matching a filter."""
    coll = _collection(ctx, database, collection)
    return {"count": _scan(ctx, coll, filter, 0)[1]}


@app.tool(read_only=True)
def aggregate(ctx, collection: Collection,
              pipeline: Annotated[list[dict[str, Any]], Field(description="Stages: $match, $group ($sum, $avg, "
                                                              "$min, $max, $count, $push), $sort, $limit, $skip, "
                                                              "$project, $unwind, $count")],
              database: Database = DEFAULT_DB) -> dict:
    """Run an aggregation pipeline over a collection (at most 1000 result documents)."""
    coll = _collection(ctx, database, collection)
    first = pipeline[0].get("$match") if pipeline and isinstance(pipeline[0], dict) else None
    docs = [d for _, d in _load(ctx, coll, first if isinstance(first, dict) else None)]
    out = _guard(query.aggregate, docs, pipeline[1:] if isinstance(first, dict) else pipeline)
    return {"documents": out[:MAX_FIND], "returned": min(len(out), MAX_FIND)}


@app.tool(returns={"insertedId": "string"})
def insert_one(ctx, collection: Collection,
               document: Annotated[dict[str, Any], Field(description="The document; _id is generated if absent")],
               database: Database = DEFAULT_DB) -> dict:
    """Insert one document."""
    coll = _collection(ctx, database, collection)
    _may_write(ctx, coll)
    return {"insertedId": _insert(ctx, coll, [document])[0]}


@app.tool(returns={"insertedIds": {"type": "array"}, "insertedCount": "integer"})
def insert_many(ctx, collection: Collection,
                documents: Annotated[list[dict[str, Any]], Field(description="Documents to insert (all or none)",
                                                                 min_length=1, max_length=1000)],
                database: Database = DEFAULT_DB) -> dict:
    """Insert several documents; if one fails validation, none is inserted."""
    coll = _collection(ctx, database, collection)
    _may_write(ctx, coll)
    ids = _insert(ctx, coll, documents)
    return {"insertedIds": ids, "insertedCount": len(ids)}


@app.tool(destructive=True)
def update_one(ctx, collection: Collection, filter: Filter, update: Update,
               upsert: Annotated[bool, Field(description="Insert a document if none matches")] = False,
               database: Database = DEFAULT_DB) -> dict:
    """Update the first document matching the filter."""
    return _update(ctx, database, collection, filter, update, upsert, many=False)


@app.tool(destructive=True)
def update_many(ctx, collection: Collection, filter: Filter, update: Update,
                upsert: Annotated[bool, Field(description="Insert a document if none matches")] = False,
                database: Database = DEFAULT_DB) -> dict:
    """Update every document matching the filter."""
    return _update(ctx, database, collection, filter, update, upsert, many=True)


def _delete(ctx, database: str, collection: str, flt: dict | None, many: bool) -> dict:
    coll = _collection(ctx, database, collection)
    _may_write(ctx, coll)
    if not flt and many:
        raise ToolError("rule_violation", "delete_many with an empty filter would delete the whole collection; "
                        "give a filter")
    hits = _load(ctx, coll, flt, None if many else 1)
    for row_id, _ in hits:
        ctx.delete("ds_documents", row_id)
    return {"deletedCount": len(hits)}


@app.tool(destructive=True)
def delete_one(ctx, collection: Collection, filter: Filter, database: Database = DEFAULT_DB) -> dict:
    """Delete the first document matching the filter."""
    return _delete(ctx, database, collection, filter, many=False)


@app.tool(destructive=True)
def delete_many(ctx, collection: Collection, filter: Filter, database: Database = DEFAULT_DB) -> dict:
    """Delete every document matching the (non-empty) filter."""
    return _delete(ctx, database, collection, filter, many=True)
