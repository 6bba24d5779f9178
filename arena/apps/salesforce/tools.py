"""Salesforce tools: the generic sObject REST surface (describe, SOQL, search, record CRUD) plus the
convenience tools common Salesforce MCP servers offer. Every write, generic or convenience, goes
through `_create` / `_update`, so the validation rules below hold whichever tool an agent picks."""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import Field

from arena.apps.salesforce import app, soql
from arena.apps.salesforce.objects import (CASE_ORIGINS, CASE_PRIORITIES, CLOSED_STAGES, OBJECTS, STAGES,
                                           FieldSpec, SObject, format_id, parse_id, sobject)
from arena.core.errors import ToolError, not_found

# Allowed state changes (anything else is an invalid_transition). An open opportunity can always be lost.
OPPORTUNITY_TRANSITIONS = {
    "Prospecting": {"Qualification", "Closed Lost"},
    "Qualification": {"Proposal", "Closed Lost"},
    "Proposal": {"Negotiation", "Closed Lost"},
    "Negotiation": {"Closed Won", "Closed Lost"},
    "Closed Won": set(),
    "Closed Lost": set(),
}
CASE_TRANSITIONS = {
    "New": {"Working", "Escalated", "Closed"},
    "Working": {"Escalated", "Closed"},
    "Escalated": {"Working", "Closed"},
    "Closed": set(),
}
STAGE_PROBABILITY = {"Prospecting": 10, "Qualification": 20, "Proposal": 50, "Negotiation": 80, "Closed Won": 100,
                     "Closed Lost": 0}
# children that block deleting a parent (Salesforce refuses such deletes too)
DELETE_BLOCKERS = {"Account": [("sf_contacts", "contacts"), ("sf_opportunities", "opportunities"), ("sf_cases", "cases")],
                   "Contact": [("sf_cases", "cases")]}
CREATE_DEFAULTS = {"Opportunity": {"StageName": "Prospecting"},
                   "Case": {"Status": "New", "Priority": "Medium", "Origin": "Web"}}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXT_LIMITS = {"string": 255, "picklist": 255, "email": 80, "phone": 40, "url": 255, "textarea": 32000}

ObjectName = Annotated[str, Field(description="sObject API name: Account, Contact, Opportunity, Case (User is read-only)")]
RecordId = Annotated[str, Field(description="15-character Salesforce record id, e.g. 001000000000042")]
Fields = Annotated[dict[str, Any], Field(description="Field API names to values, e.g. {\"Name\": \"Acme\", \"Industry\": \"Retail\"}")]


# -- validation ------------------------------------------------------------------------------
def _coerce(ctx, spec: FieldSpec, value: Any) -> Any:
    """A JSON value for `spec` as its column value; wrong types and unknown picklist values are refused."""
    def bad(why: str) -> ToolError:
        return ToolError("invalid_arguments", f"{spec.name}: {why}", field=spec.name)

    if value is None or value == "":
        if spec.required:
            raise bad("Required field is missing")
        return None
    if spec.type == "reference":
        target = OBJECTS[spec.reference_to.lower()]  # type: ignore[union-attr]
        rid = parse_id(value, target, spec.name)
        row = ctx.one(f"SELECT * FROM {target.table} WHERE id = ?", rid)
        if row is None:
            raise not_found(target.name, value)
        if target.name == "User" and row["status"] != "active":
            raise ToolError("rule_violation", f"{spec.name}: user {row['username']} is inactive", field=spec.name)
        return rid
    if spec.type in TEXT_LIMITS:
        if not isinstance(value, str):
            raise bad(f"expected text, got {type(value).__name__}")
        if len(value) > TEXT_LIMITS[spec.type]:
            raise bad(f"longer than {TEXT_LIMITS[spec.type]} characters")
        if spec.picklist and value not in spec.picklist:
            raise bad(f"bad value for restricted picklist: {value!r}; use one of {', '.join(spec.picklist)}")
        if spec.type == "email" and not EMAIL_RE.match(value):
            raise bad(f"invalid email address: {value!r}")
        return value.strip() if spec.type == "string" else value
    if spec.type in ("currency", "double", "percent", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f"expected a number, got {value!r}")
        if spec.type == "int" and not float(value).is_integer():
            raise bad(f"expected a whole number, got {value!r}")
        if spec.type == "percent" and not 0 <= value <= 100:
            raise bad(f"a percentage must be within 0..100, got {value}")
        return int(value) if spec.type == "int" else round(float(value), 2)
    if spec.type == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise bad(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise bad(f"expected true or false, got {value!r}")
        return int(value)
    raise bad("cannot be written")


def _values(ctx, obj: SObject, fields: dict[str, Any], creating: bool) -> dict[str, Any]:
    if not obj.writable:
        raise ToolError("invalid_arguments", f"{obj.name} records are read-only here (managed in the company "
                        "directory)", object=obj.name)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        spec = obj.field(name)
        if spec.column is None or (creating and not spec.createable) or (not creating and not spec.updateable):
            raise ToolError("invalid_arguments", f"Unable to {'create' if creating else 'update'} field "
                            f"{spec.name}: it is read-only", field=spec.name)
        out[spec.column] = _coerce(ctx, spec, value)
    if creating:
        missing = [s.name for s in obj.fields.values() if s.required and s.column not in out]
        if missing:
            raise ToolError("invalid_arguments", f"Required fields are missing: {', '.join(missing)}", fields=missing)
    return out


def _licensed(ctx) -> None:
    row = ctx.one("SELECT is_active FROM sf_users WHERE user_id = ?", ctx.actor["id"])
    if row is None or not row["is_active"]:
        raise ToolError("permission_denied", f"{ctx.actor['username']} has no active Salesforce user")


def _transition(kind: str, table: dict[str, set[str]], current: str, target: str) -> None:
    if target != current and target not in table[current]:
        allowed = sorted(table[current])
        raise ToolError("invalid_transition", f"{kind} is {current}; it cannot move to {target} "
                        f"(allowed: {', '.join(allowed) or 'none, it is closed'})",
                        current=current, target=target, allowed=allowed)


def _rules(ctx, obj: SObject, values: dict[str, Any], before: dict[str, Any] | None) -> None:
    """Object rules on the merged record (before + changes); may add derived columns to `values`."""
    rec = {**(before or {}), **values}
    rid = before["id"] if before else None
    if obj.name == "Account":
        if "name" in values and ctx.one("SELECT 1 FROM sf_accounts WHERE name = ? COLLATE NOCASE AND id IS NOT ?",
                                        rec["name"], rid):
            raise ToolError("conflict", f"an account named {rec['name']!r} already exists (duplicate rule)",
                            field="Name")
        for col, label in (("annual_revenue", "AnnualRevenue"), ("number_of_employees", "NumberOfEmployees")):
            if rec.get(col) is not None and rec[col] < 0:
                raise ToolError("rule_violation", f"{label} must not be negative", field=label)
    elif obj.name == "Opportunity":
        if rec.get("amount") is not None and rec["amount"] < 0:
            raise ToolError("rule_violation", f"Amount must not be negative (got {rec['amount']})", field="Amount")
        if before and "stage_name" in values:
            _transition("opportunity", OPPORTUNITY_TRANSITIONS, before["stage_name"], values["stage_name"])
        if rec["stage_name"] == "Closed Won" and not rec.get("amount"):
            raise ToolError("rule_violation", "an opportunity can only be Closed Won with an Amount", field="Amount")
        if "stage_name" in values and "probability" not in values:
            values["probability"] = STAGE_PROBABILITY[values["stage_name"]]
    elif obj.name == "Case":
        if before and "status" in values:
            _transition("case", CASE_TRANSITIONS, before["status"], values["status"])
        if values.get("status") == "Closed" and (before is None or before["status"] != "Closed"):
            values["closed_date"] = ctx.now
        if rec.get("contact_id") is not None and rec.get("account_id") is not None:
            acc = ctx.scalar("SELECT account_id FROM sf_contacts WHERE id = ?", rec["contact_id"])
            if acc != rec["account_id"]:
                raise ToolError("rule_violation", "the case's contact does not belong to the case's account",
                                field="ContactId")


def _after_write(ctx, obj: SObject, rid: int, before: dict[str, Any] | None) -> None:
    """Notifications Salesforce workflow rules would send."""
    row = ctx.get(obj.table, rid, obj.name)
    if obj.name == "Opportunity" and row["stage_name"] in CLOSED_STAGES and (before is None or before["stage_name"] != row["stage_name"]):
        ctx.notify(row["owner_id"], "salesforce", f"Opportunity {row['name']} is {row['stage_name']}"
                   + (f" ({row['amount']:.2f})" if row["amount"] else ""), ref=format_id(obj, rid))
    if obj.name == "Case" and row["status"] == "Escalated" and (before is None or before["status"] != "Escalated"):
        manager = ctx.scalar("SELECT manager_id FROM users WHERE id = ?", row["owner_id"]) or row["owner_id"]
        ctx.notify(manager, "salesforce", f"Case {row['case_number']} was escalated: {row['subject']}",
                   ref=format_id(obj, rid), kind="alert")


def _create(ctx, obj: SObject, fields: dict[str, Any]) -> dict[str, Any]:
    _licensed(ctx)
    given = {k.lower() for k, v in fields.items() if v is not None}
    defaults = {k: v for k, v in CREATE_DEFAULTS.get(obj.name, {}).items() if k.lower() not in given}
    values = _values(ctx, obj, {**fields, **defaults}, creating=True)
    if obj.name == "Case":
        last = ctx.scalar("SELECT MAX(case_number) FROM sf_cases")
        values["case_number"] = f"{int(last or '00001000') + 1:08d}"
    _rules(ctx, obj, values, None)
    if values.get("owner_id") is None:
        values["owner_id"] = ctx.actor["id"]
    rid = ctx.insert(obj.table, **values, created_date=ctx.now, last_modified_date=ctx.now)
    _after_write(ctx, obj, rid, None)
    return {"id": format_id(obj, rid), "success": True, "errors": []}


def _update(ctx, obj: SObject, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    _licensed(ctx)
    rid = parse_id(record_id, obj)
    before = _existing(ctx, obj, rid)
    if not fields:
        raise ToolError("invalid_arguments", "fields: give at least one field to update", field="fields")
    values = _values(ctx, obj, fields, creating=False)
    _rules(ctx, obj, values, before)
    changed = {k: v for k, v in values.items() if before.get(k) != v}
    if changed:
        ctx.update(obj.table, rid, **changed, last_modified_date=ctx.now)
        _after_write(ctx, obj, rid, before)
    return {"id": record_id, "success": True, "updated": sorted(_api_names(obj, changed))}


def _existing(ctx, obj: SObject, rid: int) -> dict[str, Any]:
    row = ctx.one(f"SELECT * FROM {obj.table} WHERE id = ?", rid)
    if row is None:
        raise not_found(obj.name, format_id(obj, rid))
    return row


def _api_names(obj: SObject, columns: dict[str, Any]) -> list[str]:
    by_col = {s.column: s.name for s in obj.fields.values() if s.column}
    return [by_col.get(c, c) for c in columns]


def _record(ctx, obj: SObject, rid: int, fields: list[str] | None) -> dict[str, Any]:
    names = fields or [s.name for s in obj.fields.values()]
    where = [soql.Condition("Id", "=", [soql.Token("string", format_id(obj, rid) or "", 0)], 0)]
    compiled = soql.compile_query(soql.Query(object=obj.name, fields=names, where=where, limit=1), ctx.today)
    rows = ctx.all(compiled.sql, *compiled.params)
    if not rows:
        raise not_found(obj.name, format_id(obj, rid))
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": soql.record_url(obj, rid)}}
    for i, col in enumerate(compiled.columns):
        value = soql.present(rows[0][f"c{i}"], col)
        if len(col.path) == 1:
            out[col.path[0]] = value
        else:
            out.setdefault(col.path[0], {"attributes": {"type": col.owner.name}})[col.path[1]] = value
    return out


# -- metadata and queries ------------------------------------------------------------------------
@app.tool(read_only=True)
def list_objects(ctx) -> dict:
    """The sObjects available (describeGlobal): names, labels, key prefixes, what can be written."""
    return {"sobjects": [{"name": o.name, "label": o.label, "keyPrefix": o.key_prefix, "queryable": True,
                          "createable": o.writable, "updateable": o.writable, "deletable": o.writable}
                         for o in OBJECTS.values()]}


@app.tool(read_only=True)
def describe_object(ctx, object: ObjectName) -> dict:
    """Describe an sObject: its fields with types, picklist values and relationships."""
    obj = sobject(object)
    return {"name": obj.name, "label": obj.label, "keyPrefix": obj.key_prefix, "createable": obj.writable,
            "fields": [s.describe() for s in obj.fields.values()]}


@app.tool(read_only=True)
def soql_query(ctx, query: Annotated[str, Field(description="SOQL: SELECT f1, f2, Parent.f FROM Object [WHERE f op value [AND ...]] "
                                                "[ORDER BY f [ASC|DESC]] [LIMIT n] [OFFSET n]; COUNT() also works", min_length=1)]) -> dict:
    """Run a SOQL query over Account, Contact, Opportunity, Case or User. Conditions are joined by AND
    (use IN for alternatives); values are typed literals ('text', 42, 2026-03-31, true, null, TODAY)."""
    return soql.run(ctx.all, query, ctx.today)


@app.tool(read_only=True)
def search_records(ctx, search_term: Annotated[str, Field(description="Text to find (case-insensitive, at least 2 characters)", min_length=2)],
                   objects: Annotated[list[str] | None, Field(description="sObjects to search (default: all)")] = None,
                   limit: Annotated[int, Field(description="Maximum records per object", ge=1, le=200)] = 20) -> dict:
    """Search names, e-mails, phones and subjects across objects (like SOSL FIND)."""
    targets = [sobject(o) for o in objects] if objects else list(OBJECTS.values())
    pattern = "%" + search_term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    results = []
    for obj in targets:
        exprs = [obj.field(f).sql.format(a="t") for f in obj.search_fields]
        label = obj.field("Name" if "name" in obj.fields else "Subject")
        rows = ctx.all(f"SELECT t.id, {label.sql.format(a='t')} AS label FROM {obj.table} t WHERE "
                       + " OR ".join(f"{e} LIKE ? ESCAPE '\\'" for e in exprs) + " ORDER BY t.id LIMIT ?",
                       *([pattern] * len(exprs)), limit)
        results += [{"attributes": {"type": obj.name, "url": soql.record_url(obj, r["id"])},
                     "Id": format_id(obj, r["id"]), label.name: r["label"]} for r in rows]
    return {"searchRecords": results, "count": len(results)}


@app.tool(read_only=True)
def get_record(ctx, object: ObjectName, id: RecordId,
               fields: Annotated[list[str] | None, Field(description="Fields to return (default: all); Parent.Field allowed")] = None) -> dict:
    """Get one record by id."""
    obj = sobject(object)
    return _record(ctx, obj, parse_id(id, obj), fields)


@app.tool(returns={"id": "string", "success": "boolean"})
def create_record(ctx, object: ObjectName, fields: Fields) -> dict:
    """Create a record of any writable sObject from field API names and values."""
    return _create(ctx, sobject(object), fields)


@app.tool(idempotent=True)
def update_record(ctx, object: ObjectName, id: RecordId, fields: Fields) -> dict:
    """Update fields of a record; stage and status changes must follow the pipeline."""
    return _update(ctx, sobject(object), id, fields)


@app.tool(destructive=True, idempotent=False)
def delete_record(ctx, object: ObjectName, id: RecordId) -> dict:
    """Delete a record (managers and admins). Parents with children and won deals cannot be deleted."""
    obj = sobject(object)
    if not obj.writable:
        raise ToolError("invalid_arguments", f"{obj.name} records are read-only here", object=obj.name)
    _licensed(ctx)
    ctx.require_role("manager", action="delete Salesforce records")
    rid = parse_id(id, obj)
    row = _existing(ctx, obj, rid)
    column = {"Account": "account_id", "Contact": "contact_id"}.get(obj.name)
    for table, what in DELETE_BLOCKERS.get(obj.name, []):
        n = ctx.scalar(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", rid)
        if n:
            raise ToolError("rule_violation", f"{obj.name} {id} still has {n} {what}; delete or reassign them first",
                            children=what, count=n)
    if obj.name == "Opportunity" and row["stage_name"] == "Closed Won":
        raise ToolError("rule_violation", "won opportunities are kept for revenue reporting; they cannot be deleted")
    ctx.delete(obj.table, rid)
    return {"id": id, "success": True, "deleted": True}


# -- convenience tools -----------------------------------------------------------------------------
def _put(fields: dict[str, Any], **named: Any) -> dict[str, Any]:
    fields.update({k: v for k, v in named.items() if v is not None})
    return fields


@app.tool(returns={"id": "string", "success": "boolean"})
def create_account(ctx, name: Annotated[str, Field(description="Account (company) name; unique", min_length=1)],
                   industry: Annotated[str | None, Field(description="Industry picklist value, e.g. Technology, Retail")] = None,
                   type: Annotated[str | None, Field(description="Prospect, Customer - Direct, Customer - Channel, Partner or Other")] = None,
                   billing_city: Annotated[str | None, Field(description="Billing city")] = None,
                   billing_country: Annotated[str | None, Field(description="Billing country")] = None,
                   phone: Annotated[str | None, Field(description="Phone number")] = None,
                   website: Annotated[str | None, Field(description="Website URL")] = None,
                   annual_revenue: Annotated[float | None, Field(description="Annual revenue")] = None,
                   number_of_employees: Annotated[int | None, Field(description="Number of employees")] = None) -> dict:
    """Create an account (a customer or prospect company)."""
    return _create(ctx, OBJECTS["account"], _put({}, Name=name, Industry=industry, Type=type, BillingCity=billing_city,
                                                 BillingCountry=billing_country, Phone=phone, Website=website,
                                                 AnnualRevenue=annual_revenue, NumberOfEmployees=number_of_employees))


@app.tool(returns={"id": "string", "success": "boolean"})
def create_contact(ctx, last_name: Annotated[str, Field(description="Last name", min_length=1)],
                   first_name: Annotated[str | None, Field(description="First name")] = None,
                   account_id: Annotated[str | None, Field(description="Account id (001...) the contact works for")] = None,
                   email: Annotated[str | None, Field(description="E-mail address")] = None,
                   phone: Annotated[str | None, Field(description="Phone number")] = None,
                   title: Annotated[str | None, Field(description="Job title")] = None) -> dict:
    """Create a contact (a person at a customer)."""
    return _create(ctx, OBJECTS["contact"], _put({}, LastName=last_name, FirstName=first_name, AccountId=account_id,
                                                 Email=email, Phone=phone, Title=title))


@app.tool(returns={"id": "string", "success": "boolean"})
def create_opportunity(ctx, name: Annotated[str, Field(description="Opportunity name", min_length=1)],
                       account_id: Annotated[str, Field(description="Account id (001...)")],
                       close_date: Annotated[str, Field(description="Expected close date, YYYY-MM-DD")],
                       amount: Annotated[float | None, Field(description="Deal amount (>= 0)")] = None,
                       stage_name: Annotated[Literal[STAGES] | None, Field(description="Pipeline stage (default Prospecting)")] = None,  # type: ignore[valid-type]
                       type: Annotated[str | None, Field(description="New Business, Existing Business or Renewal")] = None,
                       lead_source: Annotated[str | None, Field(description="Web, Phone Inquiry, Partner Referral, Trade Show, Word of mouth, Other")] = None) -> dict:
    """Create an opportunity (a deal in the pipeline) for an account."""
    return _create(ctx, OBJECTS["opportunity"], _put({}, Name=name, AccountId=account_id, CloseDate=close_date,
                                                     Amount=amount, StageName=stage_name, Type=type,
                                                     LeadSource=lead_source))


@app.tool(idempotent=True)
def update_opportunity_stage(ctx, opportunity_id: Annotated[str, Field(description="Opportunity id (006...)")],
                             stage_name: Annotated[Literal[STAGES], Field(description="New stage: the next one in the pipeline, or Closed Lost")]) -> dict:  # type: ignore[valid-type]
    """Move an opportunity along Prospecting → Qualification → Proposal → Negotiation → Closed Won
    (or to Closed Lost from any open stage); the probability follows the stage."""
    result = _update(ctx, OBJECTS["opportunity"], opportunity_id, {"StageName": stage_name})
    row = _existing(ctx, OBJECTS["opportunity"], parse_id(opportunity_id, OBJECTS["opportunity"]))
    return {**result, "StageName": row["stage_name"], "Probability": row["probability"]}


@app.tool(returns={"id": "string", "success": "boolean", "case_number": "string"})
def create_case(ctx, subject: Annotated[str, Field(description="Short summary of the problem", min_length=1)],
                account_id: Annotated[str | None, Field(description="Account id (001...)")] = None,
                contact_id: Annotated[str | None, Field(description="Contact id (003...) who reported it")] = None,
                description: Annotated[str | None, Field(description="Details")] = None,
                priority: Annotated[Literal[CASE_PRIORITIES], Field(description="Priority")] = "Medium",  # type: ignore[valid-type]
                origin: Annotated[Literal[CASE_ORIGINS], Field(description="Channel the case came in by")] = "Web") -> dict:  # type: ignore[valid-type]
    """Open a support case (status New)."""
    out = _create(ctx, OBJECTS["case"], _put({}, Subject=subject, AccountId=account_id, ContactId=contact_id,
                                             Description=description, Priority=priority, Origin=origin))
    out["case_number"] = ctx.scalar("SELECT case_number FROM sf_cases WHERE id = ?", parse_id(out["id"], OBJECTS["case"]))
    return out


@app.tool(idempotent=True)
def update_case_status(ctx, case_id: Annotated[str, Field(description="Case id (500...)")],
                       status: Annotated[Literal["New", "Working", "Escalated", "Closed"], Field(description="New status")]) -> dict:
    """Change a case's status (New → Working → Escalated → Closed; closed cases stay closed)."""
    return _update(ctx, OBJECTS["case"], case_id, {"Status": status})


@app.tool(read_only=True)
def get_current_user(ctx) -> dict:
    """Who you are in Salesforce: user id, username, profile."""
    row = ctx.one("SELECT * FROM sf_users WHERE user_id = ?", ctx.actor["id"])
    if row is None:
        raise not_found("Salesforce user of", ctx.actor["username"])
    return {"user_id": format_id("005", ctx.actor["id"]), "username": row["username"], "name": ctx.actor["full_name"],
            "email": ctx.actor["email"], "profile": row["profile"], "is_active": bool(row["is_active"])}
