"""Salesforce seed: a Salesforce user per employee (via employee.hired), then accounts owned by the
sales team, their contacts, an opportunity pipeline and support cases, all generated from lists
loaded once and inserted in bulk."""
from __future__ import annotations

import datetime as dt

from arena.apps.salesforce import app, words
from arena.apps.salesforce.objects import ACCOUNT_TYPES, INDUSTRIES, LEAD_SOURCES, OPPORTUNITY_TYPES
from arena.apps.salesforce.tools import STAGE_PROBABILITY
from arena.core import fake

PROFILES = {"admin": "System Administrator", "manager": "Sales Manager"}
STAGE_WEIGHTS = {"Prospecting": 20, "Qualification": 18, "Proposal": 15, "Negotiation": 12, "Closed Won": 20,
                 "Closed Lost": 15}
CASE_STATUS_WEIGHTS = {"New": 25, "Working": 30, "Escalated": 10, "Closed": 35}


@app.on("employee.hired")
def provision_user(ctx, user_id: int) -> None:
    """Every employee gets a Salesforce user; the profile follows the company role."""
    user = ctx.get("users", user_id)
    ctx.insert("sf_users", user_id=user_id, username=f"{user['email']}.crm",
               profile=PROFILES.get(user["role"], "Standard User"), is_active=1)


def _stamp(rng, start: str, span_days: int) -> str:
    day = dt.date.fromisoformat(start) + dt.timedelta(days=rng.randrange(span_days))
    return f"{day.isoformat()}T{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:00"


def _phone(rng) -> str:
    return f"+{rng.randint(30, 49)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _pick(rng, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


@app.seeder(order=50)
def seed_salesforce(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    people = ctx.all("SELECT u.id, d.code FROM users u JOIN departments d ON d.id = u.department_id")
    sales = [p["id"] for p in people if p["code"] == "SAL"] or [p["id"] for p in people]
    support = [p["id"] for p in people if p["code"] == "SUP"] or sales
    ins = ctx.db.executemany

    accounts = []
    slugs = {}
    for aid, name in enumerate(words.account_names(rng, 3 + 5 * k), start=1):
        city, country, _ = rng.choice(fake.CITIES)
        created = _stamp(rng, "2022-01-03", 1100)
        slugs[aid] = fake.slug(name)
        accounts.append((aid, name, rng.choices(ACCOUNT_TYPES, [25, 45, 15, 10, 5])[0], rng.choice(INDUSTRIES), city,
                         country, _phone(rng), f"https://www.{slugs[aid]}.example", float(rng.randint(5, 900) * 100_000),
                         rng.choice([12, 45, 120, 300, 800, 2500, 12000]), rng.choice(sales), created, created))
    ins("INSERT INTO sf_accounts (id, name, type, industry, billing_city, billing_country, phone, website, "
        "annual_revenue, number_of_employees, owner_id, created_date, last_modified_date) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", accounts)

    contacts = []
    contacts_of: dict[int, list[int]] = {}
    for cid in range(1, 6 + 12 * k):
        acc = rng.choice(accounts)
        first, last = fake.person(rng)
        created = _stamp(rng, acc[11][:10], 300)
        contacts.append((cid, acc[0], first, last, f"{first}.{last}{cid}@{slugs[acc[0]]}.example".lower(),
                         _phone(rng), rng.choice(words.TITLES), acc[10], created, created))
        contacts_of.setdefault(acc[0], []).append(cid)
    ins("INSERT INTO sf_contacts (id, account_id, first_name, last_name, email, phone, title, owner_id, "
        "created_date, last_modified_date) VALUES (?,?,?,?,?,?,?,?,?,?)", contacts)

    opportunities = []
    for oid in range(1, 6 + 15 * k):
        acc = rng.choice(accounts)
        stage = _pick(rng, STAGE_WEIGHTS)
        created = _stamp(rng, "2025-04-01", 300)
        close = (dt.date.fromisoformat(created[:10]) + dt.timedelta(days=rng.randint(20, 160))).isoformat()
        amount = float(rng.randint(2, 400) * 500)
        opportunities.append((oid, acc[0], f"{acc[1]} - {rng.choice(words.DEAL_KINDS)}", stage, amount, close,
                              STAGE_PROBABILITY[stage], rng.choice(OPPORTUNITY_TYPES), rng.choice(LEAD_SOURCES),
                              acc[10], created, created))
    ins("INSERT INTO sf_opportunities (id, account_id, name, stage_name, amount, close_date, probability, type, "
        "lead_source, owner_id, created_date, last_modified_date) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", opportunities)

    cases = []
    for n in range(1, 5 + 12 * k):
        acc = rng.choice(accounts)
        status = _pick(rng, CASE_STATUS_WEIGHTS)
        created = _stamp(rng, "2025-10-01", 150)
        closed = _stamp(rng, created[:10], 3) if status == "Closed" else None
        contact = rng.choice(contacts_of[acc[0]]) if acc[0] in contacts_of else None
        cases.append((f"{1000 + n:08d}", acc[0], contact, rng.choice(words.CASE_SUBJECTS), fake.sentence(rng), status,
                      rng.choices(["Low", "Medium", "High", "Critical"], [25, 45, 22, 8])[0],
                      rng.choice(["Email", "Phone", "Web", "Chat"]), rng.choice(support), created,
                      closed or created, closed))
    ins("INSERT INTO sf_cases (case_number, account_id, contact_id, subject, description, status, priority, origin, "
        "owner_id, created_date, last_modified_date, closed_date) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", cases)
