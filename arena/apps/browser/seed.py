"""The intranet: home, policies (numbers agree with HR), onboarding guide, holiday calendar, team
and people pages from the company directory, knowledge base, announcements and project wiki."""
from html import escape

from arena.apps.browser import app, words
from arena.apps.browser.html import ROOT, to_text
from arena.apps.docstore.words import KB_TOPICS
from arena.core import fake


NAV = [("/", "Home"), ("/policies", "Policies"), ("/wiki", "Wiki"), ("/kb", "Knowledge base"),
       ("/announcements", "Announcements"), ("/teams", "Teams")]


def _frame(title: str, body: str) -> str:
    nav = "<nav>" + " ".join(f'<a href="{h}">{t}</a>' for h, t in NAV) + "</nav>"
    return f"<html><head><title>{escape(title)}</title><style>body{{font-family:sans-serif}}</style></head>" \
           f"<body>{nav}<main>{body}</main><footer>Acme Corp intranet</footer></body></html>"


def _list(items: list[tuple[str, str]]) -> str:
    return "<ul>" + "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for href, text in items) + "</ul>"


@app.seeder(order=50)
def seed_intranet(ctx) -> None:
    rng, k = ctx.rng, ctx.k
    pages: list[tuple[str, str, str, str, str]] = []  # url path, title, body html, section, updated

    def add(path: str, title: str, body: str, section: str, updated: str = "2026-01-05") -> None:
        pages.append((path, title, body, section, updated))

    depts = ctx.all("SELECT d.id, d.name, d.code, d.head_user_id FROM departments d ORDER BY d.id")
    users = ctx.all("SELECT id, username, full_name, email, designation, department_id, manager_id, location, skills "
                    "FROM users ORDER BY id")
    by_id = {u["id"]: u for u in users}
    dept_slug = {d["id"]: fake.slug(d["name"]) for d in depts}
    dept_name = {d["id"]: d["name"] for d in depts}

    add("/", "Acme Corp Intranet", "<h1>Acme Corp Intranet</h1><p>Everything you need at work.</p>" + _list([
        ("/policies", "Company policies"), ("/onboarding/guide", "Onboarding guide"), ("/hr/holiday-calendar",
         "Holiday calendar 2026"), ("/teams", "Teams"), ("/people", "People directory"), ("/kb", "Knowledge base"),
        ("/announcements", "Announcements"), ("/wiki", "Project wiki")]), "home")
    add("/policies", "Company policies", "<h1>Company policies</h1>" + _list(
        [(f"/policies/{slug}", title) for slug, (title, _) in words.POLICIES.items()]), "policies")
    for slug, (title, body) in words.POLICIES.items():
        add(f"/policies/{slug}", title, body, "policies", "2026-01-01")
    add("/onboarding/guide", "Onboarding Guide", words.ONBOARDING, "onboarding")
    add("/hr/holiday-calendar", "Holiday calendar 2026", "<h1>Public holidays 2026 (Berlin office)</h1><table>" + "".join(
        f"<tr><td>{d}</td><td>{n}</td></tr>" for d, n in words.HOLIDAYS) + "</table>", "hr")
    add("/teams", "Teams", "<h1>Teams</h1>" + _list([(f"/teams/{dept_slug[d['id']]}", d["name"]) for d in depts]), "teams")
    members: dict[int, list[dict]] = {}
    for u in users:
        members.setdefault(u["department_id"], []).append(u)
    for d in depts:
        head = by_id.get(d["head_user_id"])
        body = f"<h1>{escape(d['name'])}</h1><p>Department code {d['code']}.</p>"
        if head:
            body += f'<p>Head of department: <a href="/people/{head["username"]}">{escape(head["full_name"])}</a></p>'
        team = members.get(d["id"], [])
        body += f"<h2>Members ({len(team)})</h2>" + _list(
            [(f"/people/{m['username']}", f"{m['full_name']} - {m['designation']}") for m in team[:200]])
        add(f"/teams/{dept_slug[d['id']]}", d["name"], body, "teams")
    add("/people", "People directory", "<h1>People directory</h1><p>Browse by team or use search_intranet with a "
        "name.</p>" + _list([(f"/teams/{dept_slug[d['id']]}", d["name"]) for d in depts]), "people")
    for u in users:
        mgr = by_id.get(u["manager_id"])
        body = (f"<h1>{escape(u['full_name'])}</h1><table><tr><td>Title</td><td>{escape(u['designation'] or '')}</td></tr>"
                f"<tr><td>Team</td><td><a href=\"/teams/{dept_slug.get(u['department_id'], '')}\">"
                f"{escape(dept_name.get(u['department_id'], ''))}</a></td></tr>"
                f"<tr><td>E-mail</td><td>{u['email']}</td></tr><tr><td>Location</td><td>{u['location'] or ''}</td></tr>"
                f"<tr><td>Skills</td><td>{escape(u['skills'].replace(',', ', '))}</td></tr></table>")
        if mgr:
            body += f'<p>Reports to <a href="/people/{mgr["username"]}">{escape(mgr["full_name"])}</a></p>'
        add(f"/people/{u['username']}", u["full_name"], body, "people")
    kb = []
    for i in range(max(len(KB_TOPICS), 4 * k)):  # every topic exists: policies link to them
        title, text = KB_TOPICS[i % len(KB_TOPICS)]
        if i >= len(KB_TOPICS):
            title = f"{title} ({rng.choice(fake.PRODUCT_WORDS)} edition {i // len(KB_TOPICS) + 1})"
        slug = fake.slug(title)
        kb.append((f"/kb/{slug}", title))
        related = "/policies/security-policy" if "phishing" in slug or "authentication" in slug else "/policies/expense-policy" \
            if "expense" in slug else "/onboarding/guide"
        add(f"/kb/{slug}", title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
            f'<p>Related: <a href="{related}">{related.rsplit("/", 1)[1].replace("-", " ")}</a></p>', "kb",
            f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}")
    add("/kb", "Knowledge base", "<h1>Knowledge base</h1>" + _list(kb[:100]), "kb")
    news = []
    for i in range(5 * k):
        kind, template = words.ANNOUNCEMENT_KINDS[i % len(words.ANNOUNCEMENT_KINDS)]
        date = f"2026-{1 + i % 2:02d}-{1 + (i * 3) % 28:02d}"
        text = template.format(city=rng.choice(fake.CITIES)[0], date=f"2026-03-{rng.randint(3, 28):02d}",
                               dept=rng.choice(depts)["name"], product=fake.product_name(rng),
                               version=f"{rng.randint(2, 6)}.{rng.randint(0, 9)}")
        author = rng.choice(users)
        url = f"/announcements/{date}-{fake.slug(kind)}-{i + 1}"
        news.append((url, f"{date}: {kind}"))
        add(url, f"{kind} ({date})", f"<h1>{kind}</h1><p>{escape(text)}</p><p>Posted {date} by "
            f'<a href="/people/{author["username"]}">{escape(author["full_name"])}</a></p>', "announcements", date)
    add("/announcements", "Announcements", "<h1>Announcements</h1>" + _list(sorted(news, key=lambda n: n[1],
                                                                                  reverse=True)[:50]), "announcements")
    projects = []
    for i in range(3 * k):
        name = f"{rng.choice(fake.PRODUCT_WORDS)} {rng.choice(['Migration', 'Launch', 'Redesign', 'Platform', 'Rollout'])}"
        owner = rng.choice(users)
        url = f"/wiki/projects/{fake.slug(name)}-{i + 1}"
        projects.append((url, name))
        add(url, name, f"<h1>{escape(name)}</h1><p>Status: {rng.choice(['planning', 'in progress', 'done'])}. "
            f"Goal: {escape(fake.task_title(rng))}.</p><p>{escape(fake.paragraph(rng, 2))}</p>"
            f'<p>Owner: <a href="/people/{owner["username"]}">{escape(owner["full_name"])}</a></p>', "wiki")
    add("/wiki", "Project wiki", "<h1>Project wiki</h1>" + _list(projects[:100]), "wiki")

    page_rows, link_rows = [], []
    for pid, (path, title, body, section, updated) in enumerate(pages, start=1):
        url = ROOT + path.lstrip("/")
        html = _frame(title, body)
        text, links = to_text(body, url)  # the page's own content; the nav bar is the same everywhere
        page_rows.append((pid, url.rstrip("/") if path != "/" else url, title, html, text, section, updated))
        link_rows += [(pid, ln["url"].rstrip("/") if ln["url"] != ROOT else ln["url"], ln["text"]) for ln in links]
    ctx.db.executemany("INSERT INTO web_pages (id, url, title, html, text, section, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       page_rows)
    ctx.db.executemany("INSERT INTO web_links (page_id, href, text) VALUES (?, ?, ?)", link_rows)
