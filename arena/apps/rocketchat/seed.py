from arena.apps.rocketchat import app
from arena.core import fake


@app.on("employee.hired")
def provision_account(ctx, user_id: int) -> None:
    """Every new employee gets a chat account and joins #general."""
    user = ctx.get("users", user_id)
    ctx.insert("chat_accounts", user_id=user_id, username=user["username"], status="offline")
    general = ctx.one("SELECT id FROM chat_channels WHERE name = 'general'")
    if general:
        ctx.insert("chat_members", channel_id=general["id"], user_id=user_id)


@app.seeder(order=-1)  # before the company: #general must exist when people are hired
def seed_general(ctx) -> None:
    ctx.insert("chat_channels", name="general", description="Company-wide announcements", private=0,
               created_by=None, created_at="2019-01-01T09:00:00")


@app.seeder(order=30)
def seed_channels(ctx) -> None:
    rng = ctx.rng
    users = [r["id"] for r in ctx.all("SELECT id FROM users")]
    depts = ctx.all("SELECT id, name, code FROM departments")
    channels = []
    for d in depts:
        cid = ctx.insert("chat_channels", name=fake.slug(d["name"]), description=f"{d['name']} team",
                         private=0, created_by=users[0], created_at="2020-01-06T09:00:00")
        channels.append(cid)
        for m in ctx.all("SELECT id FROM users WHERE department_id = ?", d["id"]):
            ctx.insert("chat_members", channel_id=cid, user_id=m["id"])
    for i in range(3 + ctx.k):
        name = f"proj-{fake.slug(rng.choice(fake.PRODUCT_WORDS))}-{i}"
        cid = ctx.insert("chat_channels", name=name, description="Project room", private=int(rng.random() < 0.3),
                         created_by=rng.choice(users), created_at="2024-05-01T10:00:00")
        channels.append(cid)
        for uid in rng.sample(users, min(len(users), 6)):
            ctx.insert("chat_members", channel_id=cid, user_id=uid)
    general = ctx.scalar("SELECT id FROM chat_channels WHERE name = 'general'")
    channels.append(general)
    for n in range(40 * ctx.k):
        cid = rng.choice(channels)
        members = [r["user_id"] for r in ctx.all("SELECT user_id FROM chat_members WHERE channel_id = ?", cid)]
        if not members:
            continue
        ctx.insert("chat_messages", channel_id=cid, sender_id=rng.choice(members), text=fake.sentence(rng),
                   created_at=f"2026-02-{1 + n % 28:02d}T{9 + n % 8:02d}:{n % 60:02d}:00")
