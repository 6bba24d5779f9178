"""Dolibarr tools. The first sixteen (get_companies ... get_timesheets) have exactly the names and
parameters of the published arena's Dolibarr MCP server; the rest follow Dolibarr's REST API
(orders, projects, holiday approval, time spent)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arena.apps.dolibarr import app
from arena.apps.dolibarr.amounts import document_totals, line_totals
from arena.core.errors import ToolError, not_found

# Allowed state changes (anything else is an invalid_transition).
ORDER_TRANSITIONS = {
    "Draft": {"Validated", "Cancelled"},
    "Validated": {"Shipped", "Billed", "Cancelled"},
    "Shipped": {"Billed"},
    "Billed": set(),
    "Cancelled": set(),
}
HOLIDAY_TRANSITIONS = {
    "draft": {"validated", "cancelled"},          # validated = submitted, awaiting approval
    "validated": {"approved", "refused", "cancelled"},
    "approved": {"cancelled"},
    "refused": set(),
    "cancelled": set(),
}
# Dolibarr's numeric statuses, accepted wherever a status filter is given
HOLIDAY_STATUS_CODES = {"1": "draft", "2": "validated", "3": "approved", "4": "cancelled", "5": "refused"}
INVOICE_STATUS_CODES = {"0": "draft", "1": "unpaid", "2": "paid", "3": "abandoned"}
LEAVE_TYPES = {"LEAVE_PAID": "Paid vacation", "LEAVE_SICK": "Sick leave", "LEAVE_OTHER": "Other leave",
               "LEAVE_UNPAID": "Unpaid leave"}
BALANCE_LEAVE_TYPES = {"LEAVE_PAID"}  # the only type that draws on holiday_balance
# get_companies sortfield: Dolibarr's SQL aliases and plain names, mapped to our columns
COMPANY_SORT = {"t.rowid": "id", "rowid": "id", "id": "id", "t.nom": "name", "nom": "name", "name": "name",
                "t.datec": "date_creation", "date_creation": "date_creation", "t.town": "town", "town": "town",
                "t.code_client": "code_client", "code_client": "code_client"}
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,47}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Id = Annotated[int, Field(description="Dolibarr numeric id (rowid)", ge=1)]
Limit = Annotated[int, Field(description="Maximum number of records to return", ge=1, le=500)]
Date = Annotated[str, Field(description="Date as YYYY-MM-DD")]
OptDate = Annotated[str | None, Field(description="Date as YYYY-MM-DD")]


# -- helpers ----------------------------------------------------------------------------
def _date(value: str, field: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _email(value: str | None, field: str = "email") -> str | None:
    if value is not None and not EMAIL_RE.match(value):
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not an e-mail address", field=field)
    return value


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ToolError("invalid_arguments", f"country_code: {value!r} is not an ISO 3166 two-letter code",
                        field="country_code")
    return value.upper()


def _transition(kind: str, table: dict[str, set[str]], current: str, target: str) -> None:
    if target not in table[current]:
        allowed = sorted(table[current])
        raise ToolError("invalid_transition",
                        f"{kind} is {current}; it cannot become {target} "
                        f"(allowed from {current}: {', '.join(allowed) or 'none'})",
                        current=current, target=target, allowed=allowed)


def _next_ref(ctx, table: str, prefix: str, width: int = 4) -> str:
    """Dolibarr numbering: <prefix><yymm>-<counter>, the counter running on per prefix and month."""
    head = f"{prefix}{ctx.today[2:4]}{ctx.today[5:7]}-"
    last = ctx.scalar(f"SELECT MAX(ref) FROM {table} WHERE ref LIKE ?", head + "%")
    n = int(last[len(head):]) + 1 if last else 1
    return f"{head}{n:0{width}d}"


def _thirdparty(ctx, id_: int) -> dict:
    return ctx.get("dl_thirdparties", id_, "third party")


def _actor_dl_user(ctx) -> dict | None:
    return ctx.one("SELECT * FROM dl_users WHERE user_id = ?", ctx.actor["id"])


def _public_user(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "pass_hash"}


def _company_out(row: dict) -> dict:
    return {**row, "nom": row["name"]}


def _order_out(ctx, order: dict, with_lines: bool = True) -> dict:
    out = dict(order)
    out["thirdparty_name"] = ctx.scalar("SELECT name FROM dl_thirdparties WHERE id = ?", order["socid"])
    if with_lines:
        out["lines"] = ctx.all("SELECT id, product_id, description, qty, subprice, tva_tx, total_ht, total_ttc, "
                               "rang FROM dl_order_lines WHERE order_id = ? ORDER BY rang", order["id"])
    return out


def _recompute_order(ctx, order_id: int) -> None:
    rows = ctx.all("SELECT qty, subprice, tva_tx FROM dl_order_lines WHERE order_id = ?", order_id)
    ht, tva, ttc = document_totals((r["qty"], r["subprice"], r["tva_tx"]) for r in rows)
    ctx.update("dl_orders", order_id, total_ht=ht, total_tva=tva, total_ttc=ttc)


class OrderLine(BaseModel):
    """One line of a customer order: a product from the catalogue or a free-text line."""

    model_config = ConfigDict(extra="forbid")
    product_id: int | None = Field(None, description="Product id; price, VAT and label default from it", ge=1)
    description: str | None = Field(None, description="Line text (required without product_id)")
    qty: float = Field(1, description="Quantity (> 0)", gt=0)
    subprice: float | None = Field(None, description="Unit price without tax (required without product_id)", ge=0)
    tva_tx: float | None = Field(None, description="VAT rate in percent, e.g. 20", ge=0, le=100)


def _insert_line(ctx, order_id: int, line: OrderLine) -> int:
    product = None
    if line.product_id is not None:
        product = ctx.get("dl_products", line.product_id, "product")
        if not product["status"]:
            raise ToolError("rule_violation", f"product {product['ref']} is not on sale", product_id=product["id"])
    description = line.description or (product["label"] if product else None)
    subprice = line.subprice if line.subprice is not None else (product["price"] if product else None)
    if description is None or subprice is None:
        raise ToolError("invalid_arguments", "a line without product_id needs description and subprice",
                        field="lines")
    tva_tx = line.tva_tx if line.tva_tx is not None else (product["tva_tx"] if product else 20.0)
    ht, ttc = line_totals(line.qty, subprice, tva_tx)
    rang = (ctx.scalar("SELECT MAX(rang) FROM dl_order_lines WHERE order_id = ?", order_id) or 0) + 1
    return ctx.insert("dl_order_lines", order_id=order_id, product_id=line.product_id, description=description,
                      qty=line.qty, subprice=subprice, tva_tx=tva_tx, total_ht=ht, total_ttc=ttc, rang=rang)


def _working_days(start: dt.date, end: dt.date) -> int:
    days = (end - start).days + 1
    full_weeks, rest = divmod(days, 7)
    n = full_weeks * 5
    for i in range(rest):
        if (start + dt.timedelta(days=full_weeks * 7 + i)).weekday() < 5:
            n += 1
    return n


# -- third parties ----------------------------------------------------------------------
@app.tool(read_only=True)
def get_companies(ctx, limit: Limit = 100,
                  sortfield: Annotated[str, Field(description="Sort field, e.g. t.rowid, t.nom, t.datec, t.town")] = "t.rowid",
                  sortorder: Annotated[str, Field(description="ASC or DESC")] = "ASC") -> dict:
    """List third parties (customers, prospects, suppliers)."""
    col = COMPANY_SORT.get(sortfield.strip().lower())
    if col is None:
        raise ToolError("invalid_arguments", f"sortfield: unknown field {sortfield!r}; use one of "
                        + ", ".join(sorted(COMPANY_SORT)), field="sortfield")
    order = sortorder.strip().upper()
    if order not in ("ASC", "DESC"):
        raise ToolError("invalid_arguments", f"sortorder: {sortorder!r} is not ASC or DESC", field="sortorder")
    rows = ctx.all(f"SELECT * FROM dl_thirdparties ORDER BY {col} {order}, id LIMIT ?", limit)
    return {"companies": [_company_out(r) for r in rows], "count": len(rows)}


@app.tool(read_only=True)
def get_company(ctx, id: Id) -> dict:
    """Get one third party with its counts of orders, invoices and projects."""
    row = _thirdparty(ctx, id)
    return {**_company_out(row),
            "orders": ctx.scalar("SELECT COUNT(*) FROM dl_orders WHERE socid = ?", id),
            "invoices": ctx.scalar("SELECT COUNT(*) FROM dl_invoices WHERE socid = ?", id),
            "projects": ctx.scalar("SELECT COUNT(*) FROM dl_projects WHERE socid = ?", id)}


@app.tool(returns={"id": "integer", "name": "string", "code_client": "string"})
def create_company(ctx, name: Annotated[str, Field(description="Company name (unique)", min_length=1, max_length=128)],
                   email: Annotated[str | None, Field(description="Main e-mail address")] = None,
                   phone: Annotated[str | None, Field(description="Phone number")] = None,
                   address: Annotated[str | None, Field(description="Street address")] = None,
                   zip: Annotated[str | None, Field(description="Postal code")] = None,
                   town: Annotated[str | None, Field(description="Town / city")] = None,
                   country_code: Annotated[str | None, Field(description="ISO country code, e.g. FR, DE, US")] = None,
                   client: Annotated[int, Field(description="0 none, 1 customer, 2 prospect, 3 customer and prospect", ge=0, le=3)] = 1,
                   fournisseur: Annotated[int, Field(description="1 if the company is a supplier", ge=0, le=1)] = 0) -> dict:
    """Create a third party (company). Customers get a customer code, suppliers a supplier code."""
    name = name.strip()
    if ctx.one("SELECT 1 FROM dl_thirdparties WHERE name = ? COLLATE NOCASE", name):
        raise ToolError("conflict", f"a third party named {name!r} already exists", field="name")
    values: dict[str, Any] = dict(name=name, email=_email(email), phone=phone, address=address, zip=zip, town=town,
                                  country_code=_country(country_code), client=client, fournisseur=fournisseur,
                                  status=1, sales_rep_id=ctx.actor["id"], date_creation=ctx.now)
    if client in (1, 3):
        values["code_client"] = _next_code(ctx, "code_client", "CU")
    if fournisseur:
        values["code_fournisseur"] = _next_code(ctx, "code_fournisseur", "SU")
    tid = ctx.insert("dl_thirdparties", **values)
    return {"id": tid, "name": name, "code_client": values.get("code_client")}


def _next_code(ctx, column: str, prefix: str) -> str:
    head = f"{prefix}{ctx.today[2:4]}{ctx.today[5:7]}-"
    last = ctx.scalar(f"SELECT MAX({column}) FROM dl_thirdparties WHERE {column} LIKE ?", head + "%")
    n = int(last[len(head):]) + 1 if last else 1
    return f"{head}{n:05d}"


@app.tool(idempotent=True)
def update_company(ctx, id: Id,
                   name: Annotated[str | None, Field(description="New company name (unique)", min_length=1, max_length=128)] = None,
                   email: Annotated[str | None, Field(description="New e-mail address")] = None,
                   phone: Annotated[str | None, Field(description="New phone number")] = None,
                   address: Annotated[str | None, Field(description="New street address")] = None,
                   zip: Annotated[str | None, Field(description="New postal code")] = None,
                   town: Annotated[str | None, Field(description="New town / city")] = None,
                   country_code: Annotated[str | None, Field(description="New ISO country code")] = None,
                   status: Annotated[int | None, Field(description="1 active, 0 closed", ge=0, le=1)] = None) -> dict:
    """Update fields of a third party; fields left out keep their value."""
    row = _thirdparty(ctx, id)
    changes: dict[str, Any] = {}
    if name is not None and name.strip() != row["name"]:
        name = name.strip()
        if ctx.one("SELECT 1 FROM dl_thirdparties WHERE name = ? COLLATE NOCASE AND id != ?", name, id):
            raise ToolError("conflict", f"a third party named {name!r} already exists", field="name")
        changes["name"] = name
    for key, value in (("email", _email(email)), ("phone", phone), ("address", address), ("zip", zip),
                       ("town", town), ("country_code", _country(country_code)), ("status", status)):
        if value is not None and value != row[key]:
            changes[key] = value
    ctx.update("dl_thirdparties", id, **changes)
    return {"id": id, "updated": sorted(changes), "company": _company_out(ctx.get("dl_thirdparties", id))}


# -- Dolibarr's own invoices -------------------------------------------------------------
@app.tool(read_only=True)
def get_invoices(ctx, thirdparty_id: Annotated[int | None, Field(description="Only invoices of this third party", ge=1)] = None,
                 status: Annotated[str | None, Field(description="draft, unpaid, paid or abandoned (or Dolibarr's 0-3)")] = None,
                 limit: Limit = 100) -> dict:
    """List Dolibarr customer invoices, newest first."""
    sql, args = "SELECT * FROM dl_invoices WHERE 1 = 1", []
    if thirdparty_id is not None:
        sql += " AND socid = ?"
        args.append(thirdparty_id)
    if status is not None:
        st = INVOICE_STATUS_CODES.get(status.strip(), status.strip().lower())
        if st not in INVOICE_STATUS_CODES.values():
            raise ToolError("invalid_arguments", f"status: unknown invoice status {status!r}; use draft, unpaid, "
                            "paid or abandoned", field="status")
        sql += " AND status = ?"
        args.append(st)
    rows = ctx.all(sql + " ORDER BY date DESC, id DESC LIMIT ?", *args, limit)
    return {"invoices": rows, "count": len(rows)}


@app.tool(read_only=True)
def get_invoice(ctx, id: Id) -> dict:
    """Get one Dolibarr invoice."""
    row = ctx.get("dl_invoices", id, "invoice")
    return {**row, "thirdparty_name": ctx.scalar("SELECT name FROM dl_thirdparties WHERE id = ?", row["socid"])}


@app.tool(returns={"id": "integer", "ref": "string"})
def create_invoice(ctx, thirdparty_id: Annotated[int, Field(description="Customer third party id", ge=1)],
                   date: OptDate = None,
                   ref: Annotated[str | None, Field(description="Invoice reference; numbered automatically when left out")] = None,
                   note: Annotated[str | None, Field(description="Public note printed on the invoice")] = None) -> dict:
    """Create a draft customer invoice in Dolibarr (payment due 30 days after its date)."""
    tp = _thirdparty(ctx, thirdparty_id)
    if tp["client"] not in (1, 3):
        raise ToolError("rule_violation", f"{tp['name']} is not a customer; only customers can be invoiced",
                        thirdparty_id=thirdparty_id)
    day = _date(date, "date") if date else ctx.today
    if ref is not None and ctx.one("SELECT 1 FROM dl_invoices WHERE ref = ?", ref):
        raise ToolError("conflict", f"invoice reference {ref!r} already exists", field="ref")
    ref = ref or _next_ref(ctx, "dl_invoices", "FA")
    due = (dt.date.fromisoformat(day) + dt.timedelta(days=30)).isoformat()
    iid = ctx.insert("dl_invoices", ref=ref, socid=thirdparty_id, date=day, date_lim_reglement=due, status="draft",
                     note_public=note, author_id=ctx.actor["id"])
    return {"id": iid, "ref": ref}


# -- products -----------------------------------------------------------------------------
@app.tool(read_only=True)
def get_products(ctx, type: Annotated[str | None, Field(description="0 or 'product' for products, 1 or 'service' for services")] = None,
                 limit: Limit = 100) -> dict:
    """List products and services of the catalogue."""
    sql, args = "SELECT * FROM dl_products", []
    if type is not None:
        t = {"0": 0, "product": 0, "1": 1, "service": 1}.get(type.strip().lower())
        if t is None:
            raise ToolError("invalid_arguments", f"type: {type!r} is neither product (0) nor service (1)", field="type")
        sql += " WHERE type = ?"
        args.append(t)
    rows = ctx.all(sql + " ORDER BY ref LIMIT ?", *args, limit)
    return {"products": rows, "count": len(rows)}


@app.tool(read_only=True)
def get_product(ctx, id: Id) -> dict:
    """Get one product or service."""
    return ctx.get("dl_products", id, "product")


@app.tool(returns={"id": "integer", "ref": "string"})
def create_product(ctx, ref: Annotated[str, Field(description="Product reference (unique), e.g. PRD-0042", min_length=1, max_length=64)],
                   label: Annotated[str, Field(description="Product label", min_length=1)],
                   type: Annotated[int, Field(description="0 product, 1 service", ge=0, le=1)] = 0,
                   price: Annotated[float, Field(description="Selling price without tax (>= 0)")] = 0.0,
                   description: Annotated[str | None, Field(description="Long description")] = None,
                   tva_tx: Annotated[float, Field(description="VAT rate in percent", ge=0, le=100)] = 20.0) -> dict:
    """Create a product or service in the catalogue."""
    if price < 0:
        raise ToolError("rule_violation", f"price must not be negative (got {price})", field="price")
    if ctx.one("SELECT 1 FROM dl_products WHERE ref = ?", ref):
        raise ToolError("conflict", f"product reference {ref!r} already exists", field="ref")
    pid = ctx.insert("dl_products", ref=ref, label=label, type=type, price=round(price, 2), tva_tx=tva_tx,
                     description=description, stock_reel=0 if type == 0 else None, status=1, datec=ctx.now)
    return {"id": pid, "ref": ref}


# -- projects -----------------------------------------------------------------------------
@app.tool(read_only=True)
def get_projects(ctx, limit: Limit = 100,
                 status: Annotated[int | None, Field(description="0 draft, 1 open, 2 closed", ge=0, le=2)] = None,
                 thirdparty_id: Annotated[int | None, Field(description="Only projects of this third party", ge=1)] = None) -> dict:
    """List projects."""
    sql, args = "SELECT * FROM dl_projects WHERE 1 = 1", []
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    if thirdparty_id is not None:
        sql += " AND socid = ?"
        args.append(thirdparty_id)
    rows = ctx.all(sql + " ORDER BY id DESC LIMIT ?", *args, limit)
    return {"projects": rows, "count": len(rows)}


@app.tool(returns={"id": "integer", "ref": "string"})
def create_project(ctx, title: Annotated[str, Field(description="Project title", min_length=1)],
                   ref: Annotated[str | None, Field(description="Project reference (unique); numbered automatically when left out")] = None,
                   thirdparty_id: Annotated[int | None, Field(description="Customer third party id", ge=1)] = None,
                   description: Annotated[str | None, Field(description="What the project is about")] = None,
                   date_start: OptDate = None, date_end: OptDate = None,
                   budget_amount: Annotated[float | None, Field(description="Budget (>= 0)")] = None,
                   manager: Annotated[str | None, Field(description="Project manager: username, e-mail or user id (default: you)")] = None) -> dict:
    """Create an open project."""
    if thirdparty_id is not None:
        _thirdparty(ctx, thirdparty_id)
    start = _date(date_start, "date_start") if date_start else ctx.today
    end = _date(date_end, "date_end") if date_end else None
    if end is not None and end < start:
        raise ToolError("rule_violation", f"date_end {end} is before date_start {start}", field="date_end")
    if budget_amount is not None and budget_amount < 0:
        raise ToolError("rule_violation", f"budget_amount must not be negative (got {budget_amount})")
    if ref is not None and ctx.one("SELECT 1 FROM dl_projects WHERE ref = ?", ref):
        raise ToolError("conflict", f"project reference {ref!r} already exists", field="ref")
    manager_id = ctx.user_by(manager)["id"] if manager else ctx.actor["id"]
    ref = ref or _next_ref(ctx, "dl_projects", "PJ", 3)
    pid = ctx.insert("dl_projects", ref=ref, title=title, socid=thirdparty_id, description=description, status=1,
                     manager_id=manager_id, date_start=start, date_end=end, budget_amount=budget_amount,
                     datec=ctx.now)
    return {"id": pid, "ref": ref}


# -- users ----------------------------------------------------------------------------------
@app.tool(read_only=True)
def get_users(ctx, limit: Limit = 100) -> dict:
    """List Dolibarr users."""
    rows = ctx.all("SELECT * FROM dl_users ORDER BY id LIMIT ?", limit)
    return {"users": [_public_user(r) for r in rows], "count": len(rows)}


@app.tool(read_only=True)
def get_user(ctx, id: Id) -> dict:
    """Get one Dolibarr user, with the paid-leave days left."""
    return _public_user(ctx.get("dl_users", id, "Dolibarr user"))


@app.tool(returns={"id": "integer", "login": "string"})
def create_user(ctx, login: Annotated[str, Field(description="Login (unique): lower case letters, digits, . _ -")],
                firstname: Annotated[str, Field(description="First name", min_length=1)],
                lastname: Annotated[str, Field(description="Last name", min_length=1)],
                email: Annotated[str, Field(description="E-mail address")],
                password: Annotated[str, Field(description="Initial password (at least 8 characters)")],
                admin: Annotated[int, Field(description="1 to make the user a Dolibarr administrator", ge=0, le=1)] = 0) -> dict:
    """Create a Dolibarr user (administrators only). The password is stored hashed."""
    ctx.require_role("admin", action="create Dolibarr users")
    if not LOGIN_RE.match(login):
        raise ToolError("invalid_arguments", f"login: {login!r} must be 2-48 lower case letters, digits, '.', '_' "
                        "or '-'", field="login")
    _email(email)
    if len(password) < 8:
        raise ToolError("rule_violation", "password: the password policy needs at least 8 characters",
                        field="password")
    if ctx.one("SELECT 1 FROM dl_users WHERE login = ?", login):
        raise ToolError("conflict", f"login {login!r} is already taken", field="login")
    person = ctx.one("SELECT u.id FROM users u WHERE u.email = ? AND NOT EXISTS "
                     "(SELECT 1 FROM dl_users d WHERE d.user_id = u.id)", email)
    uid = ctx.insert("dl_users", user_id=person["id"] if person else None, login=login, firstname=firstname,
                     lastname=lastname, email=email, admin=admin, statut=1,
                     pass_hash=hashlib.sha256(f"{login}:{password}".encode()).hexdigest(), datec=ctx.now)
    return {"id": uid, "login": login}


# -- holidays ---------------------------------------------------------------------------------
@app.tool(read_only=True)
def get_holidays(ctx, status: Annotated[str | None, Field(description="draft, validated (awaiting approval), approved, refused, cancelled (or Dolibarr's 1-5)")] = None,
                 fk_user: Annotated[int | None, Field(description="Only requests of this Dolibarr user id", ge=1)] = None,
                 limit: Limit = 100) -> dict:
    """List leave requests, newest first."""
    sql, args = "SELECT h.*, u.login FROM dl_holidays h JOIN dl_users u ON u.id = h.fk_user WHERE 1 = 1", []
    if status is not None:
        st = HOLIDAY_STATUS_CODES.get(status.strip(), status.strip().lower())
        if st not in HOLIDAY_TRANSITIONS:
            raise ToolError("invalid_arguments", f"status: unknown holiday status {status!r}; use one of "
                            + ", ".join(HOLIDAY_TRANSITIONS), field="status")
        sql += " AND h.status = ?"
        args.append(st)
    if fk_user is not None:
        sql += " AND h.fk_user = ?"
        args.append(fk_user)
    rows = ctx.all(sql + " ORDER BY h.date_debut DESC, h.id DESC LIMIT ?", *args, limit)
    return {"holidays": rows, "count": len(rows)}


@app.tool(returns={"id": "integer", "ref": "string", "nb_days": "number"})
def create_holiday_request(ctx, fk_user: Annotated[int, Field(description="Dolibarr user id of the employee taking leave", ge=1)],
                           date_debut: Annotated[str, Field(description="First day of leave, YYYY-MM-DD")],
                           date_fin: Annotated[str, Field(description="Last day of leave, YYYY-MM-DD")],
                           type: Annotated[str, Field(description="Leave type: LEAVE_PAID, LEAVE_SICK, LEAVE_OTHER or LEAVE_UNPAID")],
                           halfday: Annotated[int, Field(description="0 full days, -1 afternoon of first day only, 1 morning of last day only, 2 both", ge=-1, le=2)] = 0,
                           description: Annotated[str | None, Field(description="Reason / comment")] = None) -> dict:
    """Create a draft leave request (submit it with validate_holiday)."""
    user = ctx.get("dl_users", fk_user, "Dolibarr user")
    me = _actor_dl_user(ctx)
    if (me is None or me["id"] != fk_user) and ctx.actor["role"] not in ("manager", "hr", "admin"):
        raise ToolError("permission_denied", "only managers and HR may create leave requests for someone else")
    if not user["statut"]:
        raise ToolError("rule_violation", f"Dolibarr user {user['login']} is disabled", fk_user=fk_user)
    leave_type = type.strip().upper()
    if leave_type not in LEAVE_TYPES:
        raise ToolError("invalid_arguments", f"type: unknown leave type {type!r}; use one of " + ", ".join(LEAVE_TYPES),
                        field="type")
    start, end = _date(date_debut, "date_debut"), _date(date_fin, "date_fin")
    if end < start:
        raise ToolError("rule_violation", f"date_fin {end} is before date_debut {start}", field="date_fin")
    if start == end and halfday == 2:
        raise ToolError("rule_violation", "halfday=2 needs a request of at least two days", field="halfday")
    days = _working_days(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    days -= {0: 0, -1: 0.5, 1: 0.5, 2: 1}[halfday] if days else 0
    if days <= 0:
        raise ToolError("rule_violation", f"{start}..{end} contains no working day", field="date_debut")
    overlap = ctx.one("SELECT ref FROM dl_holidays WHERE fk_user = ? AND status IN ('draft', 'validated', 'approved') "
                      "AND date_debut <= ? AND date_fin >= ?", fk_user, end, start)
    if overlap:
        raise ToolError("conflict", f"the request overlaps {overlap['ref']} of the same user", ref=overlap["ref"])
    ref = _next_ref(ctx, "dl_holidays", "HL")
    hid = ctx.insert("dl_holidays", ref=ref, fk_user=fk_user, type=leave_type, date_debut=start, date_fin=end,
                     halfday=halfday, nb_days=days, description=description, status="draft", datec=ctx.now)
    return {"id": hid, "ref": ref, "nb_days": days, "status": "draft"}


def _holiday(ctx, id_: int) -> dict:
    return ctx.get("dl_holidays", id_, "holiday request")


@app.tool(idempotent=False)
def validate_holiday(ctx, id: Id) -> dict:
    """Submit a draft leave request for approval (status validated)."""
    h = _holiday(ctx, id)
    _transition("holiday request", HOLIDAY_TRANSITIONS, h["status"], "validated")
    ctx.update("dl_holidays", id, status="validated")
    owner = ctx.get("dl_users", h["fk_user"], "Dolibarr user")
    manager = ctx.scalar("SELECT manager_id FROM users WHERE id = ?", owner["user_id"]) if owner["user_id"] else None
    if manager:
        ctx.notify(manager, "dolibarr", f"Leave request {h['ref']} of {owner['firstname']} {owner['lastname']} "
                   "awaits your approval", ref=h["ref"])
    return {"id": id, "ref": h["ref"], "status": "validated"}


@app.tool()
def approve_holiday(ctx, id: Id) -> dict:
    """Approve a leave request awaiting approval (managers and HR; never your own). Paid leave is
    deducted from the employee's balance, which may not go negative."""
    ctx.require_role("manager", "hr", action="approve leave requests")
    h = _holiday(ctx, id)
    owner = ctx.get("dl_users", h["fk_user"], "Dolibarr user")
    if owner["user_id"] == ctx.actor["id"]:
        raise ToolError("permission_denied", "you cannot approve your own leave request", ref=h["ref"])
    _transition("holiday request", HOLIDAY_TRANSITIONS, h["status"], "approved")
    if h["type"] in BALANCE_LEAVE_TYPES:
        if owner["holiday_balance"] < h["nb_days"]:
            raise ToolError("rule_violation", f"{owner['login']} has {owner['holiday_balance']} paid-leave days left; "
                            f"{h['ref']} needs {h['nb_days']}", balance=owner["holiday_balance"], needed=h["nb_days"])
        ctx.update("dl_users", owner["id"], holiday_balance=owner["holiday_balance"] - h["nb_days"])
    ctx.update("dl_holidays", id, status="approved", fk_validator=ctx.actor["id"], date_approval=ctx.now)
    if owner["user_id"]:
        ctx.notify(owner["user_id"], "dolibarr", f"Your leave request {h['ref']} was approved", ref=h["ref"])
    return {"id": id, "ref": h["ref"], "status": "approved",
            "holiday_balance": ctx.scalar("SELECT holiday_balance FROM dl_users WHERE id = ?", owner["id"])}


@app.tool()
def refuse_holiday(ctx, id: Id, reason: Annotated[str, Field(description="Why the request is refused", min_length=1)]) -> dict:
    """Refuse a leave request awaiting approval (managers and HR)."""
    ctx.require_role("manager", "hr", action="refuse leave requests")
    h = _holiday(ctx, id)
    _transition("holiday request", HOLIDAY_TRANSITIONS, h["status"], "refused")
    ctx.update("dl_holidays", id, status="refused", fk_validator=ctx.actor["id"], refuse_reason=reason)
    owner = ctx.get("dl_users", h["fk_user"], "Dolibarr user")
    if owner["user_id"]:
        ctx.notify(owner["user_id"], "dolibarr", f"Your leave request {h['ref']} was refused: {reason}", ref=h["ref"])
    return {"id": id, "ref": h["ref"], "status": "refused"}


# -- timesheets -----------------------------------------------------------------------------
@app.tool(read_only=True)
def get_timesheets(ctx, fk_user: Annotated[int | None, Field(description="Dolibarr user id", ge=1)] = None,
                   year: Annotated[int | None, Field(description="Year, e.g. 2026", ge=2000, le=2100)] = None,
                   month: Annotated[int | None, Field(description="Month 1-12 (with year)", ge=1, le=12)] = None) -> dict:
    """Time spent on projects, per entry, with the total hours."""
    if month is not None and year is None:
        raise ToolError("invalid_arguments", "month: give year as well", field="month")
    sql = ("SELECT t.*, p.ref AS project_ref, u.login FROM dl_timesheets t JOIN dl_projects p ON p.id = t.project_id "
           "JOIN dl_users u ON u.id = t.fk_user WHERE 1 = 1")
    args: list[Any] = []
    if fk_user is not None:
        sql += " AND t.fk_user = ?"
        args.append(fk_user)
    if year is not None:
        prefix = f"{year:04d}-{month:02d}-" if month else f"{year:04d}-"
        sql += " AND t.task_date LIKE ?"
        args.append(prefix + "%")
    rows = ctx.all(sql + " ORDER BY t.task_date DESC, t.id DESC LIMIT 500", *args)
    return {"timesheets": rows, "count": len(rows), "total_hours": round(sum(r["duration"] for r in rows), 2)}


@app.tool(returns={"id": "integer", "day_total_hours": "number"})
def add_timesheet_entry(ctx, project_id: Annotated[int, Field(description="Project id", ge=1)],
                        task_date: Date,
                        duration: Annotated[float, Field(description="Hours spent (0 < hours <= 24)", gt=0, le=24)],
                        fk_user: Annotated[int | None, Field(description="Dolibarr user id (default: you)", ge=1)] = None,
                        task_label: Annotated[str, Field(description="Task the time was spent on")] = "General",
                        note: Annotated[str | None, Field(description="Comment")] = None) -> dict:
    """Record time spent on an open project. A person's hours on one day may not exceed 24."""
    me = _actor_dl_user(ctx)
    if fk_user is None:
        if me is None:
            raise not_found("Dolibarr user of", ctx.actor["username"])
        fk_user = me["id"]
    elif (me is None or me["id"] != fk_user) and ctx.actor["role"] not in ("manager", "admin"):
        raise ToolError("permission_denied", "only managers may record time for someone else")
    user = ctx.get("dl_users", fk_user, "Dolibarr user")
    project = ctx.get("dl_projects", project_id, "project")
    if project["status"] != 1:
        raise ToolError("rule_violation", f"project {project['ref']} is not open (status {project['status']})",
                        project_id=project_id)
    day = _date(task_date, "task_date")
    already = ctx.scalar("SELECT COALESCE(SUM(duration), 0) FROM dl_timesheets WHERE fk_user = ? AND task_date = ?",
                         fk_user, day)
    if already + duration > 24:
        raise ToolError("rule_violation", f"{user['login']} already has {already} h on {day}; {duration} more "
                        "would exceed 24 h", already=already)
    tid = ctx.insert("dl_timesheets", fk_user=fk_user, project_id=project_id, task_label=task_label, task_date=day,
                     duration=duration, note=note)
    return {"id": tid, "day_total_hours": already + duration}


# -- customer orders --------------------------------------------------------------------------
def _order(ctx, id_: int) -> dict:
    return ctx.get("dl_orders", id_, "order")


@app.tool(returns={"id": "integer", "ref": "string", "total_ttc": "number"})
def create_order(ctx, thirdparty_id: Annotated[int, Field(description="Customer third party id", ge=1)],
                 date: OptDate = None,
                 ref_client: Annotated[str | None, Field(description="The customer's own reference (PO number)")] = None,
                 note: Annotated[str | None, Field(description="Public note")] = None,
                 lines: Annotated[list[OrderLine] | None, Field(description="Order lines to add right away")] = None) -> dict:
    """Create a draft customer order, optionally with its lines."""
    tp = _thirdparty(ctx, thirdparty_id)
    if tp["client"] not in (1, 2, 3):
        raise ToolError("rule_violation", f"{tp['name']} is not a customer or prospect", thirdparty_id=thirdparty_id)
    if not tp["status"]:
        raise ToolError("rule_violation", f"{tp['name']} is closed", thirdparty_id=thirdparty_id)
    day = _date(date, "date") if date else ctx.today
    ref = _next_ref(ctx, "dl_orders", "CO")
    oid = ctx.insert("dl_orders", ref=ref, socid=thirdparty_id, ref_client=ref_client, date_commande=day,
                     status="Draft", author_id=ctx.actor["id"], note_public=note)
    for line in lines or []:
        _insert_line(ctx, oid, line)
    _recompute_order(ctx, oid)
    order = _order(ctx, oid)
    return {"id": oid, "ref": ref, "status": "Draft", "total_ttc": order["total_ttc"]}


@app.tool(read_only=True)
def get_orders(ctx, thirdparty_id: Annotated[int | None, Field(description="Only orders of this third party", ge=1)] = None,
               status: Annotated[Literal["Draft", "Validated", "Shipped", "Billed", "Cancelled"] | None,
                                 Field(description="Only orders in this status")] = None,
               limit: Limit = 100) -> dict:
    """List customer orders, newest first (without lines; see get_order)."""
    sql, args = "SELECT * FROM dl_orders WHERE 1 = 1", []
    if thirdparty_id is not None:
        sql += " AND socid = ?"
        args.append(thirdparty_id)
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    rows = ctx.all(sql + " ORDER BY date_commande DESC, id DESC LIMIT ?", *args, limit)
    return {"orders": rows, "count": len(rows)}


@app.tool(read_only=True)
def get_order(ctx, id: Id) -> dict:
    """Get one customer order with its lines and totals."""
    return _order_out(ctx, _order(ctx, id))


@app.tool(returns={"line_id": "integer", "total_ttc": "number"})
def add_order_line(ctx, order_id: Annotated[int, Field(description="Order id", ge=1)],
                   qty: Annotated[float, Field(description="Quantity (> 0)", gt=0)] = 1,
                   product_id: Annotated[int | None, Field(description="Product id; price, VAT and label default from it", ge=1)] = None,
                   description: Annotated[str | None, Field(description="Line text (required without product_id)")] = None,
                   subprice: Annotated[float | None, Field(description="Unit price without tax (required without product_id)", ge=0)] = None,
                   tva_tx: Annotated[float | None, Field(description="VAT rate in percent", ge=0, le=100)] = None) -> dict:
    """Add a line to a draft order; the order totals are recomputed."""
    order = _order(ctx, order_id)
    if order["status"] != "Draft":
        raise ToolError("invalid_transition", f"order {order['ref']} is {order['status']}; lines can only be added "
                        "to Draft orders", current=order["status"])
    lid = _insert_line(ctx, order_id, OrderLine(product_id=product_id, description=description, qty=qty,
                                                subprice=subprice, tva_tx=tva_tx))
    _recompute_order(ctx, order_id)
    return {"line_id": lid, "order_id": order_id, "total_ttc": _order(ctx, order_id)["total_ttc"]}


@app.tool()
def validate_order(ctx, id: Id) -> dict:
    """Validate a draft order (it needs at least one line); it can then be shipped and invoiced."""
    order = _order(ctx, id)
    _transition("order", ORDER_TRANSITIONS, order["status"], "Validated")
    if not ctx.scalar("SELECT COUNT(*) FROM dl_order_lines WHERE order_id = ?", id):
        raise ToolError("rule_violation", f"order {order['ref']} has no lines", order_id=id)
    _recompute_order(ctx, id)
    ctx.update("dl_orders", id, status="Validated", valid_by=ctx.actor["id"], date_valid=ctx.now)
    return {"id": id, "ref": order["ref"], "status": "Validated", "total_ttc": _order(ctx, id)["total_ttc"]}


@app.tool()
def ship_order(ctx, id: Id, date_livraison: OptDate = None) -> dict:
    """Mark a validated order as shipped (delivered to the customer)."""
    order = _order(ctx, id)
    _transition("order", ORDER_TRANSITIONS, order["status"], "Shipped")
    day = _date(date_livraison, "date_livraison") if date_livraison else ctx.today
    ctx.update("dl_orders", id, status="Shipped", date_livraison=day)
    return {"id": id, "ref": order["ref"], "status": "Shipped"}


@app.tool(destructive=True)
def cancel_order(ctx, id: Id) -> dict:
    """Cancel a draft or validated order (shipped or billed orders cannot be cancelled)."""
    order = _order(ctx, id)
    _transition("order", ORDER_TRANSITIONS, order["status"], "Cancelled")
    ctx.update("dl_orders", id, status="Cancelled")
    return {"id": id, "ref": order["ref"], "status": "Cancelled"}


@app.on("order.billed")
def mark_order_billed(ctx, order_id: int, invoice_ref: str) -> None:
    """The finance system invoiced an order: Dolibarr classifies it Billed (its own state machine decides)."""
    order = _order(ctx, order_id)
    _transition("order", ORDER_TRANSITIONS, order["status"], "Billed")
    note = f"Invoiced as {invoice_ref}"
    ctx.update("dl_orders", order_id, status="Billed",
               note_public=f"{order['note_public']}\n{note}" if order["note_public"] else note)
