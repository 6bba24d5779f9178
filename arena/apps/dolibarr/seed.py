"""Dolibarr seed: a Dolibarr user per employee (via employee.hired), then third parties, products,
projects, customer orders with lines, leave requests, timesheets and Dolibarr invoices.
Everything is generated in Python from lists loaded once, so seeding stays fast at scale large."""
from __future__ import annotations

import datetime as dt

from arena.apps.dolibarr import app
from arena.apps.dolibarr import words
from arena.apps.dolibarr.amounts import document_totals, line_totals
from arena.apps.dolibarr.tools import BALANCE_LEAVE_TYPES, LEAVE_TYPES, _working_days
from arena.core import fake

ANNUAL_PAID_LEAVE = 25.0
ORDER_STATUS_WEIGHTS = {"Draft": 15, "Validated": 25, "Shipped": 20, "Billed": 30, "Cancelled": 10}
HOLIDAY_STATUS_WEIGHTS = {"draft": 10, "validated": 25, "approved": 50, "refused": 10, "cancelled": 5}
INVOICE_STATUS_WEIGHTS = {"draft": 10, "unpaid": 30, "paid": 55, "abandoned": 5}


@app.on("employee.hired")
def provision_user(ctx, user_id: int) -> None:
    """Every employee gets a Dolibarr login (their username) with a full paid-leave balance."""
    user = ctx.get("users", user_id)
    login, n = user["username"], 1
    while ctx.one("SELECT 1 FROM dl_users WHERE login = ?", login):  # a hand-made login may already hold it
        n += 1
        login = f"{user['username']}{n}"
    ctx.insert("dl_users", user_id=user_id, login=login, firstname=user["first_name"], lastname=user["last_name"],
               email=user["email"], admin=int(user["role"] == "admin"), statut=1,
               holiday_balance=ANNUAL_PAID_LEAVE, datec=f"{user['date_joined'] or ctx.today}T09:00:00")


def _day(rng, start: str, span_days: int) -> str:
    return (dt.date.fromisoformat(start) + dt.timedelta(days=rng.randrange(span_days))).isoformat()


def _ref(counters: dict[str, int], prefix: str, day: str, width: int = 4) -> str:
    head = f"{prefix}{day[2:4]}{day[5:7]}-"
    counters[head] = counters.get(head, 0) + 1
    return f"{head}{counters[head]:0{width}d}"


def _pick(rng, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


@app.seeder(order=50)
def seed_dolibarr(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    people = ctx.all("SELECT u.id, u.role, d.code AS dept FROM users u JOIN departments d ON d.id = u.department_id")
    sales = [p["id"] for p in people if p["dept"] == "SAL"] or [p["id"] for p in people]
    managers = [p["id"] for p in people if p["role"] in ("manager", "admin")]
    dl_users = ctx.all("SELECT id, user_id FROM dl_users")
    ins = ctx.db.executemany

    # third parties
    n_tp = 3 + 3 * k
    tps = []
    for i, name in enumerate(words.company_names(rng, n_tp), start=1):
        street, zip_code, town, country = words.address(rng)
        client = 1 if i == 1 else rng.choices([1, 2, 3, 0], [70, 15, 10, 5])[0]  # at least one customer
        fournisseur = int(client == 0 or rng.random() < 0.15)
        created = _day(rng, "2021-01-04", 1500)
        tps.append((i, name, client, fournisseur, f"CU{created[2:4]}{created[5:7]}-{i:05d}" if client in (1, 3) else None,
                    f"SU{created[2:4]}{created[5:7]}-{i:05d}" if fournisseur else None,
                    f"contact@{fake.slug(name)}.example", f"+{rng.randint(30, 49)} {rng.randint(100, 999)} "
                    f"{rng.randint(100000, 999999)}", street, zip_code, town, country, rng.choice(sales), created))
    ins("INSERT INTO dl_thirdparties (id, name, client, fournisseur, code_client, code_fournisseur, email, phone, "
        "address, zip, town, country_code, sales_rep_id, date_creation) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", tps)
    customers = [t[0] for t in tps if t[2] in (1, 3)]

    # products and services
    n_prod = 4 + 2 * k
    products = []
    for pid, (label, service) in enumerate(words.catalogue(rng, n_prod), start=1):
        price = float(rng.choice([49, 99, 149, 240, 480, 750, 1200, 2500])) + rng.choice([0, 0.5, 0.99])
        products.append((pid, f"{'SRV' if service else 'PRD'}-{pid:04d}", label, int(service), price,
                         rng.choice([20.0, 20.0, 10.0, 5.5]), f"{label} — catalogue item", None if service else rng.randint(0, 400),
                         "2024-01-15T09:00:00"))
    ins("INSERT INTO dl_products (id, ref, label, type, price, tva_tx, description, stock_reel, datec) "
        "VALUES (?,?,?,?,?,?,?,?,?)", products)

    # projects
    n_proj = 2 + k
    projects = []
    counters: dict[str, int] = {}
    for pid in range(1, n_proj + 1):
        start = _day(rng, "2025-01-06", 400)
        status = rng.choices([0, 1, 2], [10, 65, 25])[0]
        soc = rng.choice(customers) if customers and rng.random() < 0.7 else None
        title = f"{rng.choice(fake.PRODUCT_WORDS)} {rng.choice(words.PROJECT_KINDS)}"
        projects.append((pid, _ref(counters, "PJ", start, 3), title, soc, f"{title} for {'a customer' if soc else 'internal use'}",
                         status, rng.choice(managers), start,
                         (dt.date.fromisoformat(start) + dt.timedelta(days=rng.randint(60, 300))).isoformat(),
                         float(rng.randint(5, 120) * 1000), f"{start}T09:00:00"))
    ins("INSERT INTO dl_projects (id, ref, title, socid, description, status, manager_id, date_start, date_end, "
        "budget_amount, datec) VALUES (?,?,?,?,?,?,?,?,?,?,?)", projects)

    # customer orders with lines; totals derived from the lines as the tools do
    n_orders = 2 + 4 * k
    orders, lines = [], []
    counters = {}
    line_id = 0
    for oid in range(1, n_orders + 1):
        day = _day(rng, "2025-03-03", 360)
        status = _pick(rng, ORDER_STATUS_WEIGHTS)
        picked = rng.sample(products, min(len(products), rng.randint(1, 4)))
        doc = []
        for rang, p in enumerate(picked, start=1):
            qty = float(rng.choice([1, 1, 2, 3, 5, 10]))
            ht, ttc = line_totals(qty, p[4], p[5])
            line_id += 1
            lines.append((line_id, oid, p[0], p[2], qty, p[4], p[5], ht, ttc, rang))
            doc.append((qty, p[4], p[5]))
        total_ht, total_tva, total_ttc = document_totals(doc)
        validated = status != "Draft" and not (status == "Cancelled" and rng.random() < 0.5)
        orders.append((oid, _ref(counters, "CO", day), rng.choice(customers), f"PO-{rng.randint(10000, 99999)}", day,
                       (dt.date.fromisoformat(day) + dt.timedelta(days=rng.randint(3, 20))).isoformat()
                       if status in ("Shipped", "Billed") else None,
                       status, total_ht, total_tva, total_ttc, rng.choice(sales),
                       rng.choice(managers) if validated else None, f"{day}T15:00:00" if validated else None))
    ins("INSERT INTO dl_orders (id, ref, socid, ref_client, date_commande, date_livraison, status, total_ht, total_tva, "
        "total_ttc, author_id, valid_by, date_valid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", orders)
    ins("INSERT INTO dl_order_lines (id, order_id, product_id, description, qty, subprice, tva_tx, total_ht, total_ttc, "
        "rang) VALUES (?,?,?,?,?,?,?,?,?,?)", lines)

    # leave requests: approved paid leave is deducted from the balance, which never goes below zero
    balance = {u["id"]: ANNUAL_PAID_LEAVE for u in dl_users}
    person_of = {u["id"]: u["user_id"] for u in dl_users}
    manager_of = {p["id"]: p for p in ctx.all("SELECT id, manager_id FROM users")}
    taken: dict[int, list[tuple[str, str]]] = {}
    holidays = []
    counters = {}
    for _ in range(1 + 3 * k):
        fk_user = rng.choice(dl_users)["id"]
        start = _day(rng, "2026-01-05", 150)
        end = (dt.date.fromisoformat(start) + dt.timedelta(days=rng.choice([0, 1, 2, 4, 7, 11]))).isoformat()
        if any(s <= end and e >= start for s, e in taken.get(fk_user, [])):
            continue
        days = _working_days(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        if days == 0:
            continue
        leave_type = rng.choices(list(LEAVE_TYPES), [70, 15, 10, 5])[0]
        status = _pick(rng, HOLIDAY_STATUS_WEIGHTS)
        if status == "approved" and leave_type in BALANCE_LEAVE_TYPES:
            if balance[fk_user] < days:
                status = "validated"
            else:
                balance[fk_user] -= days
        taken.setdefault(fk_user, []).append((start, end))
        validator = manager_of.get(person_of[fk_user], {}).get("manager_id") or 1
        holidays.append((_ref(counters, "HL", start), fk_user, leave_type, start, end, float(days),
                         rng.choice(["Family visit", "Summer holiday", "Doctor appointment", "Moving house", None]),
                         status, validator if status in ("approved", "refused") else None,
                         f"{start}T08:00:00" if status == "approved" else None,
                         "Team coverage too thin that week" if status == "refused" else None, f"{start}T08:00:00"))
    ins("INSERT INTO dl_holidays (ref, fk_user, type, date_debut, date_fin, nb_days, description, status, fk_validator, "
        "date_approval, refuse_reason, datec) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", holidays)
    ctx.db.executemany("UPDATE dl_users SET holiday_balance = ? WHERE id = ?",
                       [(b, uid) for uid, b in balance.items() if b != ANNUAL_PAID_LEAVE])

    # timesheets on open projects, at most 10 h per person and day
    open_projects = [p[0] for p in projects if p[5] == 1] or [projects[0][0]]
    hours: dict[tuple[int, str], float] = {}
    sheets = []
    for _ in range(2 + 6 * k):
        fk_user = rng.choice(dl_users)["id"]
        day = _day(rng, "2026-02-02", 28)
        duration = float(rng.choice([0.5, 1, 2, 3, 4, 6, 8]))
        if hours.get((fk_user, day), 0) + duration > 10:
            continue
        hours[(fk_user, day)] = hours.get((fk_user, day), 0) + duration
        sheets.append((fk_user, rng.choice(open_projects), rng.choice(words.TASKS), day, duration, None))
    ins("INSERT INTO dl_timesheets (fk_user, project_id, task_label, task_date, duration, note) VALUES (?,?,?,?,?,?)",
        sheets)

    # Dolibarr's own invoices (the finance system's invoices live in the invoice app)
    invoices = []
    counters = {}
    for _ in range(1 + 2 * k):
        day = _day(rng, "2025-06-02", 270)
        status = _pick(rng, INVOICE_STATUS_WEIGHTS)
        doc = [(float(rng.randint(1, 5)), p[4], p[5]) for p in rng.sample(products, min(2, len(products)))]
        ht, tva, ttc = document_totals(doc) if status != "draft" or rng.random() < 0.5 else (0.0, 0.0, 0.0)
        invoices.append((_ref(counters, "FA", day), rng.choice(customers), day,
                         (dt.date.fromisoformat(day) + dt.timedelta(days=30)).isoformat(), status, ht, tva, ttc,
                         rng.choice(sales)))
    ins("INSERT INTO dl_invoices (ref, socid, date, date_lim_reglement, status, total_ht, total_tva, total_ttc, "
        "author_id) VALUES (?,?,?,?,?,?,?,?,?)", invoices)
