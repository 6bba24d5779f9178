from arena.apps.zammad import app
from arena.core import fake

GROUPS = [("Users", "Default queue for new requests"), ("Support L1", "First-level customer support"),
          ("Support L2", "Escalations that need product knowledge"), ("IT", "Internal IT requests from staff")]
COMPANY_ORG = "Acme Corp"
# department -> the groups its agents work in; everyone else is a customer of the help desk
AGENT_GROUPS = {"SUP": ("Users", "Support L1"), "ITO": ("Users", "IT")}
SENIOR_WORDS = ("Senior", "Engineer", "Head")  # these support staff also handle L2 escalations
TAGS = ["billing", "login", "vpn", "hardware", "bug", "feature-request", "urgent", "sla", "onboarding", "refund"]
ATTACHMENTS = [("screenshot.png", "image/png"), ("error.log", "text/plain"), ("invoice.pdf", "application/pdf")]


@app.seeder(order=-1)  # before the company: groups must exist when people are hired
def seed_groups(ctx) -> None:
    for name, note in GROUPS:
        ctx.insert("zm_groups", name=name, note=note, active=1)
    ctx.insert("zm_organizations", name=COMPANY_ORG, domain="acme-corp.example", shared=0,
               note="Our own staff (internal IT requests)", active=1, created_at="2019-01-01T09:00:00")


@app.on("employee.hired")
def provision_account(ctx, user_id: int) -> None:
    """Every employee gets a Zammad user (LDAP sync): support and IT staff as agents of their groups,
    admins as admins of all groups, everyone else as a customer of the Acme Corp organization."""
    u = ctx.one("SELECT u.role, u.designation, d.code FROM users u LEFT JOIN departments d ON d.id = u.department_id "
                "WHERE u.id = ?", user_id)
    if u["role"] == "admin":
        role, groups = "Admin", []  # admins work in every group without membership rows
    elif u["code"] in AGENT_GROUPS:
        role, groups = "Agent", list(AGENT_GROUPS[u["code"]])
        if u["code"] == "SUP" and any(w in (u["designation"] or "") for w in SENIOR_WORDS):
            groups.append("Support L2")
    else:
        role, groups = "Customer", []
    # two statements per hire (it runs for every seeded person): the row, then its group memberships
    cur = ctx.db.execute(
        "INSERT INTO zm_users (user_id, login, firstname, lastname, email, organization_id, role, active, created_at) "
        "SELECT id, username, first_name, last_name, email, (SELECT id FROM zm_organizations WHERE name = ?), ?, 1, ? "
        "FROM users WHERE id = ?", (COMPANY_ORG, role, ctx.now, user_id))
    if groups:
        ctx.db.execute("INSERT INTO zm_group_members (group_id, agent_id) SELECT id, ? FROM zm_groups "
                       f"WHERE name IN ({', '.join('?' for _ in groups)}) ORDER BY id", (cur.lastrowid, *groups))


def _when(n: int) -> str:
    return f"2026-02-{1 + n % 27:02d}T{8 + n % 10:02d}:{(13 * n) % 60:02d}:00"


@app.seeder(order=45)
def seed_tickets(ctx) -> None:
    rng = ctx.rng
    k = ctx.k
    cities = [c for c, _, _ in fake.CITIES]
    orgs = []
    for i in range(1 + k):
        base = fake.COMPANIES[i % len(fake.COMPANIES)]
        name = base if i < len(fake.COMPANIES) else f"{base} {cities[(i // len(fake.COMPANIES)) % len(cities)]}"
        dom = fake.slug(name) + ".example"
        orgs.append((ctx.insert("zm_organizations", name=name, domain=dom, shared=1, note="", active=1,
                                created_at="2024-03-01T09:00:00"), dom))
    customers = []
    taken = set()
    for i in range(3 * k):
        oid, dom = orgs[i % len(orgs)]
        first, last = fake.person(rng)
        email = f"{first}.{last}".lower()
        n = 1
        while f"{email}{n if n > 1 else ''}@{dom}" in taken:
            n += 1
        email = f"{email}{n if n > 1 else ''}@{dom}"
        taken.add(email)
        customers.append(ctx.insert("zm_users", user_id=None, login=email, firstname=first, lastname=last,
                                    email=email, phone=f"+49 30 {rng.randint(1000000, 9999999)}",
                                    organization_id=oid, role="Customer", active=1,
                                    created_at="2024-03-01T09:00:00"))
    staff = [r["id"] for r in ctx.all("SELECT id FROM zm_users WHERE role = 'Customer' AND user_id IS NOT NULL")]
    groups = {r["name"]: r["id"] for r in ctx.all("SELECT id, name FROM zm_groups")}
    agents: dict[int, list[tuple[int, int]]] = {}
    for r in ctx.all("SELECT m.group_id, z.id, z.user_id FROM zm_group_members m JOIN zm_users z ON z.id = m.agent_id "
                     "WHERE z.role = 'Agent' ORDER BY m.id"):
        agents.setdefault(r["group_id"], []).append((r["id"], r["user_id"]))
    org_of = {r["id"]: r["organization_id"] for r in ctx.all("SELECT id, organization_id FROM zm_users")}
    email_of = {r["id"]: r["email"] for r in ctx.all("SELECT id, email FROM zm_users")}
    states = ["new", "open", "open", "pending reminder", "pending close", "closed", "closed"]
    for n in range(1, 6 * k + 1):
        internal_it = rng.random() < 0.3 and staff
        cust = rng.choice(staff) if internal_it else rng.choice(customers)
        gname = "IT" if internal_it else rng.choice(["Users", "Support L1", "Support L1", "Support L2"])
        gid = groups[gname]
        state = rng.choice(states)
        pool = agents.get(gid, [])
        owner = rng.choice(pool) if pool and state != "new" else None
        when = _when(n)
        tid = ctx.insert("zm_tickets", id=n, number=str(31000 + n), title=fake.topic(rng).capitalize(), group_id=gid,
                         state=state, priority=rng.choice(["1 low", "2 normal", "2 normal", "3 high"]),
                         customer_id=cust, organization_id=org_of[cust], owner_id=owner[1] if owner else None,
                         pending_time="2026-03-05T09:00:00" if state.startswith("pending") else None,
                         created_by_id=cust, created_at=when, updated_at=when,
                         close_at=when if state == "closed" else None)
        first = ctx.insert("zm_articles", ticket_id=tid, type="email" if not internal_it else "web", sender="Customer",
                           internal=0, subject=None, body=fake.paragraph(rng, 2), from_addr=email_of[cust],
                           to_addr="support@acme-corp.example", created_by_id=cust, created_at=when)
        if rng.random() < 0.2:
            fname, ctype = rng.choice(ATTACHMENTS)
            ctx.insert("zm_attachments", article_id=first, filename=fname, size=rng.randint(2000, 900000),
                       content_type=ctype)
        if owner and rng.random() < 0.6:
            ctx.insert("zm_articles", ticket_id=tid, type=rng.choice(["email", "note", "phone"]), sender="Agent",
                       internal=int(rng.random() < 0.3), subject=None, body=fake.sentence(rng),
                       from_addr=email_of[owner[0]], to_addr=email_of[cust], created_by_id=owner[0], created_at=when)
        if rng.random() < 0.5:
            ctx.insert("zm_tags", ticket_id=tid, tag=rng.choice(TAGS))
