"""A SOQL subset: tokenizer, recursive-descent parser and compiler to parameterized SQLite.

    SELECT f1, f2, Rel.f3 | COUNT() FROM Object
    [WHERE cond [AND cond ...]]            cond: f op value | f [NOT] IN (v, ...) | f LIKE 'pat%'
    [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]

Identifiers are resolved against objects.py (unknown objects or fields are refused) and values
always travel as SQL parameters, so no part of the query text reaches SQL unchecked.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from arena.apps.salesforce.objects import OBJECTS, SObject, FieldSpec, format_id, parse_id, sobject
from arena.core.errors import ToolError

MAX_LIMIT = 2000
MAX_QUERY_CHARS = 20_000
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
            "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "COUNT", "TODAY"}
COMPARATORS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
NUMERIC = {"currency", "double", "int", "percent"}
TEXT = {"string", "textarea", "picklist", "email", "phone", "url"}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str   # string, date, datetime, number, ident, keyword, op, punct, end
    value: str
    pos: int


def _error(message: str, pos: int | None = None) -> ToolError:
    where = f" at position {pos}" if pos is not None else ""
    return ToolError("invalid_arguments", f"MALFORMED_QUERY: {message}{where}", position=pos)


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_QUERY_CHARS:
        raise _error(f"query longer than {MAX_QUERY_CHARS} characters")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise _error("unterminated string literal", pos)
            raise _error(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "ident" and value.upper() in KEYWORDS:
            tokens.append(Token("keyword", value.upper(), pos))
        elif kind == "string":
            tokens.append(Token("string", _unescape(value[1:-1]), pos))
        elif kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "%": "\\%", "_": "\\_"}


def _unescape(body: str) -> str:
    """SOQL string escapes; \\% and \\_ stay escaped for LIKE (which uses ESCAPE '\\')."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


# -- parse tree ---------------------------------------------------------------------------
@dataclass
class Condition:
    field: str
    op: str                 # =, !=, <, <=, >, >=, LIKE, IN, NOT IN
    values: list[Token]
    pos: int


@dataclass
class OrderItem:
    field: str
    descending: bool = False
    nulls: str | None = None   # FIRST or LAST


@dataclass
class Query:
    object: str
    fields: list[str] = field(default_factory=list)
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in words

    def expect_kw(self, word: str) -> Token:
        if not self.is_kw(word):
            raise _error(f"expected {word}, found {self._show(self.tok)}", self.tok.pos)
        return self.take()

    def expect(self, kind: str, value: str | None = None, what: str | None = None) -> Token:
        t = self.tok
        if t.kind != kind or (value is not None and t.value != value):
            raise _error(f"expected {what or value or kind}, found {self._show(t)}", t.pos)
        return self.take()

    @staticmethod
    def _show(t: Token) -> str:
        return "end of query" if t.kind == "end" else repr(t.value)

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        fields: list[str] = []
        count = False
        if self.is_kw("COUNT"):
            self.take()
            self.expect("punct", "(")
            self.expect("punct", ")")
            count = True
        else:
            fields.append(self.expect("ident", what="a field name").value)
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.take()
                fields.append(self.expect("ident", what="a field name").value)
        self.expect_kw("FROM")
        query = Query(object=self.expect("ident", what="an object name").value, fields=fields, count=count)
        if self.is_kw("WHERE"):
            self.take()
            query.where.append(self.condition())
            while self.is_kw("AND", "OR"):
                if self.tok.value == "OR":
                    raise _error("OR is not supported; use IN (...) or run one query per alternative", self.tok.pos)
                self.take()
                query.where.append(self.condition())
        if self.is_kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            query.order_by.append(self.order_item())
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.take()
                query.order_by.append(self.order_item())
        if self.is_kw("LIMIT"):
            self.take()
            query.limit = self.integer("LIMIT")
        if self.is_kw("OFFSET"):
            self.take()
            query.offset = self.integer("OFFSET")
        if self.tok.kind != "end":
            raise _error(f"unexpected {self._show(self.tok)}", self.tok.pos)
        return query

    def integer(self, clause: str) -> int:
        t = self.expect("number", what=f"a whole number after {clause}")
        if not re.fullmatch(r"\d+", t.value) or int(t.value) > MAX_LIMIT:
            raise _error(f"{clause} must be a whole number from 0 to {MAX_LIMIT}", t.pos)
        return int(t.value)

    def value(self) -> Token:
        t = self.tok
        if t.kind in ("string", "number", "date", "datetime") or self.is_kw("TRUE", "FALSE", "NULL", "TODAY"):
            return self.take()
        raise _error(f"expected a value, found {self._show(t)}", t.pos)

    def condition(self) -> Condition:
        if self.tok.kind == "punct" and self.tok.value == "(":
            raise _error("parenthesized conditions are not supported", self.tok.pos)
        name = self.expect("ident", what="a field name")
        if self.tok.kind == "op":
            op = COMPARATORS[self.take().value]
            return Condition(name.value, op, [self.value()], name.pos)
        negate = False
        if self.is_kw("NOT"):
            self.take()
            negate = True
        if self.is_kw("IN"):
            self.take()
            self.expect("punct", "(")
            values = [self.value()]
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.take()
                values.append(self.value())
            self.expect("punct", ")")
            return Condition(name.value, "NOT IN" if negate else "IN", values, name.pos)
        if self.is_kw("LIKE") and not negate:
            self.take()
            return Condition(name.value, "LIKE", [self.expect("string", what="a quoted LIKE pattern")], name.pos)
        raise _error(f"expected an operator after {name.value!r}, found {self._show(self.tok)}", self.tok.pos)

    def order_item(self) -> OrderItem:
        item = OrderItem(self.expect("ident", what="a field name").value)
        if self.is_kw("ASC", "DESC"):
            item.descending = self.take().value == "DESC"
        if self.is_kw("NULLS"):
            self.take()
            if not self.is_kw("FIRST", "LAST"):
                raise _error("expected FIRST or LAST after NULLS", self.tok.pos)
            item.nulls = self.take().value
        return item


def parse(text: str) -> Query:
    return _Parser(tokenize(text)).parse()


# -- compile -----------------------------------------------------------------------------------
@dataclass
class Column:
    """One selected field: where its value goes in the record and how to present it."""

    path: tuple[str, ...]          # ("Name",) or ("Account", "Name")
    spec: FieldSpec
    owner: SObject                 # the object the field belongs to (the parent for Rel.Field)


@dataclass
class Compiled:
    obj: SObject
    sql: str
    params: list[Any]
    columns: list[Column]
    count: bool
    parents: list[str] = field(default_factory=list)   # relationships selected (their key is p{i})


def _resolve(obj: SObject, name: str) -> tuple[str, FieldSpec, Column]:
    """SQL expression (alias t) for a field or a one-level parent relationship field."""
    if "." not in name:
        spec = obj.field(name)
        return spec.sql.format(a="t"), spec, Column((spec.name,), spec, obj)
    rel_name, field_name = name.split(".", 1)
    ref = obj.relationship(rel_name)
    target = OBJECTS[ref.reference_to.lower()]  # type: ignore[union-attr]
    spec = target.field(field_name)
    expr = f"(SELECT {spec.sql.format(a='r')} FROM {target.table} r WHERE r.id = t.{ref.column})"
    return expr, spec, Column((ref.relationship or rel_name, spec.name), spec, target)


def _param(spec: FieldSpec, owner: SObject, tok: Token, today: str) -> Any:
    """A literal as a SQL parameter of the field's type; mismatches are refused like Salesforce does."""
    where = tok.pos
    if tok.kind == "keyword" and tok.value == "NULL":
        return None
    if spec.type in ("id", "reference"):
        if tok.kind != "string":
            raise _error(f"{spec.name} needs a quoted record id", where)
        target = OBJECTS[spec.reference_to.lower()] if spec.reference_to else owner
        return parse_id(tok.value, target, spec.name)
    if spec.type in TEXT:
        if tok.kind != "string":
            raise _error(f"{spec.name} is a text field; quote the value", where)
        return tok.value
    if spec.type in NUMERIC:
        if tok.kind != "number":
            raise _error(f"{spec.name} is numeric; got {tok.value!r}", where)
        return float(tok.value) if "." in tok.value else int(tok.value)
    if spec.type == "boolean":
        if not (tok.kind == "keyword" and tok.value in ("TRUE", "FALSE")):
            raise _error(f"{spec.name} is a boolean; use true or false", where)
        return 1 if tok.value == "TRUE" else 0
    if spec.type == "date":
        if tok.kind == "keyword" and tok.value == "TODAY":
            return today
        if tok.kind not in ("date", "string"):
            raise _error(f"{spec.name} is a date; use YYYY-MM-DD or TODAY", where)
        try:
            return dt.date.fromisoformat(tok.value).isoformat()
        except ValueError:
            raise _error(f"{tok.value!r} is not a valid date", where) from None
    if spec.type == "datetime":
        if tok.kind == "keyword" and tok.value == "TODAY":
            return today
        if tok.kind not in ("date", "datetime", "string"):
            raise _error(f"{spec.name} is a datetime; use YYYY-MM-DDThh:mm:ssZ", where)
        try:
            stamp = dt.datetime.fromisoformat(tok.value.replace("Z", "+00:00"))
        except ValueError:
            raise _error(f"{tok.value!r} is not a valid datetime", where) from None
        return stamp.replace(tzinfo=None).isoformat(timespec="seconds") if tok.kind != "date" else tok.value
    raise _error(f"cannot filter on {spec.name}", where)


def compile_query(query: Query, today: str) -> Compiled:
    obj = sobject(query.object)
    columns: list[Column] = []
    exprs: list[str] = []
    seen: set[tuple[str, ...]] = set()
    parents: list[str] = []
    if not query.count:
        for name in (["Id"] + query.fields):
            expr, _, col = _resolve(obj, name)
            if tuple(p.lower() for p in col.path) in seen:
                continue
            seen.add(tuple(p.lower() for p in col.path))
            columns.append(col)
            exprs.append(expr)
            if len(col.path) == 2 and col.path[0] not in parents:
                parents.append(col.path[0])
    where: list[str] = []
    params: list[Any] = []
    for cond in query.where:
        expr, spec, col = _resolve(obj, cond.field)
        values = [_param(spec, col.owner, tok, today) for tok in cond.values]
        if cond.op != "LIKE":  # outside LIKE an escaped wildcard is just the character
            values = [v.replace("\\%", "%").replace("\\_", "_") if isinstance(v, str) else v for v in values]
        if cond.op in ("IN", "NOT IN"):
            if any(v is None for v in values):
                raise _error("NULL is not allowed inside IN (...)", cond.pos)
            where.append(f"{expr} {cond.op} ({', '.join('?' for _ in values)})")
            params.extend(values)
        elif values[0] is None:
            if cond.op not in ("=", "!="):
                raise _error(f"only = and != compare with null, not {cond.op}", cond.pos)
            where.append(f"{expr} IS {'NOT ' if cond.op == '!=' else ''}NULL")
        elif cond.op == "LIKE":
            if spec.type not in TEXT:
                raise _error(f"LIKE needs a text field; {spec.name} is {spec.type}", cond.pos)
            where.append(f"{expr} LIKE ? ESCAPE '\\'")
            params.append(values[0])
        else:
            if cond.op != "=" and cond.op != "!=" and spec.type in ("boolean", "id", "reference"):
                raise _error(f"{cond.op} does not apply to {spec.type} field {spec.name}", cond.pos)
            where.append(f"{expr} {cond.op} ?")
            params.append(values[0])
    sql_where = (" WHERE " + " AND ".join(where)) if where else ""
    if query.count:
        if query.order_by:
            raise _error("ORDER BY is not allowed with COUNT()")
        return Compiled(obj, f"SELECT COUNT(*) AS n FROM {obj.table} t{sql_where}", params, [], True)
    order = []
    for item in query.order_by:
        expr, _, _ = _resolve(obj, item.field)
        nulls = item.nulls or ("LAST" if item.descending else "FIRST")  # Salesforce's defaults
        order.append(f"{expr} {'DESC' if item.descending else 'ASC'} NULLS {nulls}")
    order.append("t.id")
    limit = MAX_LIMIT if query.limit is None else query.limit
    keys = [f"t.{obj.relationship(rel).column} AS p{i}" for i, rel in enumerate(parents)]
    sql = (f"SELECT {', '.join([f'{e} AS c{i}' for i, e in enumerate(exprs)] + keys)} FROM {obj.table} t"
           f"{sql_where} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?")
    return Compiled(obj, sql, params + [limit, query.offset], columns, False, parents)


def present(value: Any, col: Column) -> Any:
    spec = col.spec
    if spec.type == "id":
        return format_id(col.owner, value)
    if spec.type == "reference":
        return format_id(OBJECTS[spec.reference_to.lower()], value)  # type: ignore[union-attr]
    if spec.type == "boolean":
        return None if value is None else bool(value)
    return value


def run(db_all, text: str, today: str) -> dict[str, Any]:
    """Execute a SOQL query with `db_all(sql, *params)`; returns the REST API's query result shape."""
    compiled = compile_query(parse(text), today)
    if compiled.count:
        return {"totalSize": db_all(compiled.sql, *compiled.params)[0]["n"], "done": True, "records": []}
    obj = compiled.obj
    records = []
    for row in db_all(compiled.sql, *compiled.params):
        rid = row["c0"]
        rec: dict[str, Any] = {"attributes": {"type": obj.name, "url": record_url(obj, rid)}}
        for i, col in enumerate(compiled.columns):
            value = row[f"c{i}"]
            if len(col.path) == 1:
                rec[col.path[0]] = present(value, col)
            else:
                rel, name = col.path
                parent = rec.setdefault(rel, {"attributes": {"type": col.owner.name}})
                parent[name] = present(value, col)
        for i, rel in enumerate(compiled.parents):  # no parent record reads as null, as in the REST API
            if row[f"p{i}"] is None:
                rec[rel] = None
        records.append(rec)
    return {"totalSize": len(records), "done": True, "records": records}


def record_url(obj: SObject, rid: int) -> str:
    from arena.apps.salesforce.objects import API_VERSION

    return f"/services/data/{API_VERSION}/sobjects/{obj.name}/{format_id(obj, rid)}"
