"""Collections: `assets` (IT inventory, one laptop per employee from the day they are hired, plus
monitors, phones, peripherals), `feedback` (customer feedback on products), `kb_articles`."""
import json

from arena.apps.docstore import app, words
from arena.apps.docstore.tools import _new_ids
from arena.core import fake

ASSET_STATUSES = ["in_use", "in_stock", "repair", "retired"]
COLLECTIONS = {
    "assets": {"validator": {"required": ["asset_tag", "type", "status"],
                             "properties": {"status": {"enum": ASSET_STATUSES},
                                            "type": {"enum": ["laptop", "monitor", "phone", "keyboard", "mouse",
                                                              "headset", "dock"]},
                                            "cost": {"type": "number", "minimum": 0}}},
               "unique_keys": ["asset_tag", "serial"], "write_roles": "admin,manager"},
    "feedback": {"validator": {"required": ["customer", "rating", "comment"],
                               "properties": {"rating": {"type": "int", "minimum": 1},
                                              "status": {"enum": ["new", "triaged", "resolved"]}}},
                 "unique_keys": [], "write_roles": ""},
    "kb_articles": {"validator": {"required": ["title", "category", "body"],
                                  "properties": {"category": {"enum": words.KB_CATEGORIES}}},
                    "unique_keys": ["slug"], "write_roles": "admin,manager,hr"},
}


@app.seeder(order=-1)  # before the company: hires get a laptop through the handler below
def seed_collections(ctx) -> None:
    for name, spec in COLLECTIONS.items():
        ctx.insert("ds_collections", database="acme", name=name, validator=json.dumps(spec["validator"]),
                   unique_keys=json.dumps(spec["unique_keys"]), write_roles=spec["write_roles"], created_by=None,
                   created_at="2021-01-04T09:00:00")


def _add(ctx, collection: str, docs: list[dict]) -> None:
    cid = ctx.scalar("SELECT id FROM ds_collections WHERE database = 'acme' AND name = ?", collection)
    ids = _new_ids(ctx, len(docs))
    ctx.db.executemany("INSERT INTO ds_documents (collection_id, doc_id, body) VALUES (?, ?, ?)",
                       [(cid, i, json.dumps({"_id": i, **d}, ensure_ascii=False)) for i, d in zip(ids, docs)])


@app.on("employee.hired")
def issue_laptop(ctx, user_id: int) -> None:
    """IT issues every new employee a laptop (the asset appears assigned to them)."""
    user = ctx.get("users", user_id)
    n = (ctx.scalar("SELECT COUNT(*) FROM ds_documents") or 0) + 1
    brand, model, cost = words.LAPTOPS[user_id % len(words.LAPTOPS)]
    dept = ctx.scalar("SELECT name FROM departments WHERE id = ?", user["department_id"])
    _add(ctx, "assets", [{
        "asset_tag": f"LT-{user_id:05d}", "type": "laptop", "brand": brand, "model": model,
        "serial": f"SN{user_id * 7919 + n:09d}", "status": "in_use", "cost": cost,
        "purchase_date": user["date_joined"] or ctx.today,
        "assigned_to": {"user_id": user_id, "username": user["username"], "name": user["full_name"]},
        "department": dept, "location": user["location"], "tags": ["standard-issue"]}])


@app.seeder(order=45)
def seed_documents(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    users = ctx.all("SELECT u.id, u.username, u.full_name, u.location, d.name AS department FROM users u "
                    "LEFT JOIN departments d ON d.id = u.department_id ORDER BY u.id")
    assets = []
    serial = 500000
    for i, u in enumerate(rng.sample(users, len(users) // 2)):  # monitors and phones for half the company
        kind, (brand, model, cost) = ("monitor", rng.choice(words.MONITORS)) if i % 2 else ("phone", rng.choice(words.PHONES))
        serial += rng.randint(1, 40)
        assets.append({"asset_tag": f"{kind[:2].upper()}-{i + 1:05d}", "type": kind, "brand": brand, "model": model,
                       "serial": f"SN{serial:09d}", "status": rng.choices(ASSET_STATUSES, [8, 1, 1, 1])[0],
                       "cost": cost, "purchase_date": f"20{rng.randint(21, 25)}-{rng.randint(1, 12):02d}-15",
                       "assigned_to": {"user_id": u["id"], "username": u["username"], "name": u["full_name"]},
                       "department": u["department"], "location": u["location"], "tags": []})
    for i in range(5 * k):  # spare peripherals on the shelf
        brand, model, kind, cost = rng.choice(words.PERIPHERALS)
        serial += rng.randint(1, 40)
        assets.append({"asset_tag": f"PR-{i + 1:05d}", "type": kind, "brand": brand, "model": model,
                       "serial": f"SN{serial:09d}", "status": "in_stock", "cost": cost,
                       "purchase_date": "2025-11-03", "assigned_to": None, "department": "IT Operations",
                       "location": "Berlin", "tags": ["spare"]})
    _add(ctx, "assets", assets)
    feedback = []
    for i in range(20 * k):
        rating = rng.choices([1, 2, 3, 4, 5], [1, 2, 3, 4, 4])[0]
        pool = words.FEEDBACK_NEGATIVE if rating <= 2 else words.FEEDBACK_NEUTRAL if rating == 3 else words.FEEDBACK_POSITIVE
        feedback.append({"customer": rng.choice(fake.COMPANIES), "product": fake.product_name(rng),
                         "rating": rating, "channel": rng.choice(words.FEEDBACK_CHANNELS),
                         "comment": rng.choice(pool), "status": rng.choice(["new", "triaged", "resolved"]),
                         "owner": rng.choice(users)["username"],
                         "created_at": f"2026-0{rng.randint(1, 2)}-{rng.randint(1, 28):02d}T{rng.randint(8, 18):02d}:00:00",
                         "tags": rng.sample(["billing", "performance", "ux", "sso", "mobile", "export", "pricing"], 2)})
    _add(ctx, "feedback", feedback)
    kb = []
    for i in range(5 * k):
        title, body = words.KB_TOPICS[i % len(words.KB_TOPICS)]
        if i >= len(words.KB_TOPICS):
            title = f"{title} ({rng.choice(fake.PRODUCT_WORDS)} edition {i // len(words.KB_TOPICS) + 1})"
        author = rng.choice(users)
        kb.append({"slug": fake.slug(title), "title": title, "category": rng.choice(words.KB_CATEGORIES),
                   "body": body, "author": author["username"], "views": rng.randint(0, 5000),
                   "published": rng.random() < 0.85, "tags": [fake.slug(title).split("-")[0]],
                   "updated_at": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"})
    _add(ctx, "kb_articles", kb)
