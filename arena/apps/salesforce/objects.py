"""Salesforce object metadata: API field names, their SQL expressions, types and write rules.
describe_object, SOQL, get/create/update_record all read this one table of facts, so a field
exists everywhere or nowhere."""
from __future__ import annotations

import re
from dataclasses import dataclass

from arena.core.errors import ToolError

API_VERSION = "v60.0"
ID_RE = re.compile(r"^([0-9A-Za-z]{3})(\d{12})$")


@dataclass(frozen=True)
class FieldSpec:
    name: str                      # API name, e.g. StageName
    sql: str                       # SQL expression; {a} is the table alias
    type: str                      # id, reference, string, textarea, picklist, currency, double, int, percent,
                                   # date, datetime, boolean, email, phone, url
    label: str
    column: str | None = None      # the column written by create/update (None: read-only)
    createable: bool = True
    updateable: bool = True
    required: bool = False         # must be given on create
    picklist: tuple[str, ...] = ()
    reference_to: str | None = None
    relationship: str | None = None

    def describe(self) -> dict:
        out = {"name": self.name, "label": self.label, "type": self.type,
               "createable": self.createable and self.column is not None,
               "updateable": self.updateable and self.column is not None,
               "nillable": not self.required and self.type not in ("id", "boolean")}
        if self.picklist:
            out["picklistValues"] = [{"value": v, "label": v, "active": True} for v in self.picklist]
        if self.reference_to:
            out["referenceTo"] = [self.reference_to]
            out["relationshipName"] = self.relationship
        return out


@dataclass(frozen=True)
class SObject:
    name: str
    label: str
    table: str
    key_prefix: str
    fields: dict[str, FieldSpec]   # lower-case API name -> spec (SOQL is case-insensitive)
    writable: bool = True
    search_fields: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec:
        spec = self.fields.get(name.lower())
        if spec is None:
            raise ToolError("invalid_arguments", f"No such column '{name}' on entity '{self.name}'; its fields are "
                            + ", ".join(f.name for f in self.fields.values()), object=self.name, field=name)
        return spec

    def relationship(self, name: str) -> FieldSpec:
        for spec in self.fields.values():
            if spec.relationship and spec.relationship.lower() == name.lower():
                return spec
        raise ToolError("invalid_arguments", f"Didn't understand relationship '{name}' of entity '{self.name}'",
                        object=self.name, relationship=name)


def _col(name: str, column: str, type_: str, label: str | None = None, **kw) -> FieldSpec:
    return FieldSpec(name=name, sql=f"{{a}}.{column}", type=type_, label=label or name, column=column, **kw)


def _ro(name: str, sql: str, type_: str, label: str | None = None) -> FieldSpec:
    return FieldSpec(name=name, sql=sql, type=type_, label=label or name, column=None, createable=False,
                     updateable=False)


def _ref(name: str, column: str, target: str, relationship: str, **kw) -> FieldSpec:
    return _col(name, column, "reference", f"{relationship} ID", reference_to=target, relationship=relationship, **kw)


def _common(*fields: FieldSpec) -> dict[str, FieldSpec]:
    all_fields = (_ro("Id", "{a}.id", "id", "Record ID"), *fields,
                  _ref("OwnerId", "owner_id", "User", "Owner"),
                  _ro("CreatedDate", "{a}.created_date", "datetime", "Created Date"),
                  _ro("LastModifiedDate", "{a}.last_modified_date", "datetime", "Last Modified Date"))
    return {f.name.lower(): f for f in all_fields}


ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
INDUSTRIES = ("Technology", "Healthcare", "Finance", "Retail", "Manufacturing", "Energy", "Media", "Logistics",
              "Education", "Food & Beverage")
STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
CLOSED_STAGES = ("Closed Won", "Closed Lost")
OPPORTUNITY_TYPES = ("New Business", "Existing Business", "Renewal")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Word of mouth", "Other")
CASE_STATUSES = ("New", "Working", "Escalated", "Closed")
CASE_PRIORITIES = ("Low", "Medium", "High", "Critical")
CASE_ORIGINS = ("Email", "Phone", "Web", "Chat")

OBJECTS: dict[str, SObject] = {}


def _register(obj: SObject) -> None:
    OBJECTS[obj.name.lower()] = obj


_register(SObject("Account", "Account", "sf_accounts", "001", _common(
    _col("Name", "name", "string", "Account Name", required=True),
    _col("Type", "type", "picklist", "Account Type", picklist=ACCOUNT_TYPES),
    _col("Industry", "industry", "picklist", picklist=INDUSTRIES),
    _col("BillingCity", "billing_city", "string", "Billing City"),
    _col("BillingCountry", "billing_country", "string", "Billing Country"),
    _col("Phone", "phone", "phone"),
    _col("Website", "website", "url"),
    _col("AnnualRevenue", "annual_revenue", "currency", "Annual Revenue"),
    _col("NumberOfEmployees", "number_of_employees", "int", "Employees"),
    _col("Description", "description", "textarea"),
), search_fields=("Name", "Website", "Phone")))

_register(SObject("Contact", "Contact", "sf_contacts", "003", _common(
    _ref("AccountId", "account_id", "Account", "Account"),
    _col("FirstName", "first_name", "string", "First Name"),
    _col("LastName", "last_name", "string", "Last Name", required=True),
    _ro("Name", "TRIM(COALESCE({a}.first_name || ' ', '') || {a}.last_name)", "string", "Full Name"),
    _col("Email", "email", "email"),
    _col("Phone", "phone", "phone"),
    _col("Title", "title", "string"),
), search_fields=("Name", "Email", "Phone")))

_register(SObject("Opportunity", "Opportunity", "sf_opportunities", "006", _common(
    _ref("AccountId", "account_id", "Account", "Account"),
    _col("Name", "name", "string", "Opportunity Name", required=True),
    _col("StageName", "stage_name", "picklist", "Stage", required=True, picklist=STAGES),
    _col("Amount", "amount", "currency"),
    _col("CloseDate", "close_date", "date", "Close Date", required=True),
    _col("Probability", "probability", "percent", "Probability (%)"),
    _col("Type", "type", "picklist", "Opportunity Type", picklist=OPPORTUNITY_TYPES),
    _col("LeadSource", "lead_source", "picklist", "Lead Source", picklist=LEAD_SOURCES),
    _col("Description", "description", "textarea"),
    _ro("IsClosed", "({a}.stage_name IN ('Closed Won', 'Closed Lost'))", "boolean", "Closed"),
    _ro("IsWon", "({a}.stage_name = 'Closed Won')", "boolean", "Won"),
), search_fields=("Name",)))

_register(SObject("Case", "Case", "sf_cases", "500", _common(
    _ro("CaseNumber", "{a}.case_number", "string", "Case Number"),
    _ref("AccountId", "account_id", "Account", "Account"),
    _ref("ContactId", "contact_id", "Contact", "Contact"),
    _col("Subject", "subject", "string", required=True),
    _col("Description", "description", "textarea"),
    _col("Status", "status", "picklist", picklist=CASE_STATUSES),
    _col("Priority", "priority", "picklist", picklist=CASE_PRIORITIES),
    _col("Origin", "origin", "picklist", "Case Origin", picklist=CASE_ORIGINS),
    _ro("IsClosed", "({a}.status = 'Closed')", "boolean", "Closed"),
    _ro("ClosedDate", "{a}.closed_date", "datetime", "Closed Date"),
), search_fields=("Subject", "CaseNumber")))

# Users come from the company directory: queryable, never written through Salesforce tools.
_register(SObject("User", "User", "users", "005", {f.name.lower(): f for f in (
    _ro("Id", "{a}.id", "id", "User ID"),
    _ro("Username", "{a}.username", "string"),
    _ro("Name", "{a}.full_name", "string", "Full Name"),
    _ro("FirstName", "{a}.first_name", "string", "First Name"),
    _ro("LastName", "{a}.last_name", "string", "Last Name"),
    _ro("Email", "{a}.email", "email"),
    _ro("Title", "{a}.designation", "string"),
    _ro("Department", "(SELECT d.name FROM departments d WHERE d.id = {a}.department_id)", "string"),
    _ro("IsActive", "({a}.status = 'active')", "boolean", "Active"),
)}, writable=False, search_fields=("Name", "Email")))

PREFIX_TO_OBJECT = {o.key_prefix: o for o in OBJECTS.values()}


def sobject(name: str) -> SObject:
    obj = OBJECTS.get(name.strip().lower())
    if obj is None:
        raise ToolError("invalid_arguments", f"sObject type '{name}' is not supported; use one of "
                        + ", ".join(o.name for o in OBJECTS.values()), object=name)
    return obj


def format_id(obj_or_prefix: SObject | str, n: int | None) -> str | None:
    if n is None:
        return None
    prefix = obj_or_prefix if isinstance(obj_or_prefix, str) else obj_or_prefix.key_prefix
    return f"{prefix}{n:012d}"


def parse_id(value: object, obj: SObject, field: str = "Id") -> int:
    """The row id behind a record id of `obj`; a malformed id or one of another object is refused."""
    m = ID_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a valid {obj.name} id "
                        f"(15 characters starting with {obj.key_prefix})", field=field)
    if m.group(1) != obj.key_prefix:
        other = PREFIX_TO_OBJECT.get(m.group(1))
        what = f"{_article(other.name)} {other.name} id" if other else "not a known record id"
        raise ToolError("invalid_arguments", f"{field}: {value} is {what}; expected {_article(obj.name)} "
                        f"{obj.name} id ({obj.key_prefix}...)", field=field)
    return int(m.group(2))


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"
