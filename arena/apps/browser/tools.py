from typing import Annotated

from pydantic import Field

from arena.apps.browser import app
from arena.apps.browser.html import ROOT, canonical
from arena.apps.browser.seed import NAV
from arena.core.errors import ToolError

MAX_TEXT = 20000
Url = Annotated[str, Field(description="Intranet URL (http://intranet/...) or a path relative to the current page")]
# visited URLs live in the episode's session state (not company data: not in the database)
HISTORY_KEY = "browser.history"


def _page(ctx, url: str) -> dict:
    history = ctx.episode.session.get(HISTORY_KEY)
    full = canonical(url, history[-1] if history else None)
    row = ctx.one("SELECT id, url, title, text, section, updated_at FROM web_pages WHERE url = ?", full)
    if row is None:
        raise ToolError("not_found", f"404 Not Found: {full}", entity="page", key=full)
    return row


def _links(ctx, page_id: int) -> list[dict]:
    return ctx.all("SELECT text, href AS url FROM web_links WHERE page_id = ? ORDER BY id", page_id)


def _show(ctx, row: dict) -> dict:
    text = row["text"]
    return {"url": row["url"], "title": row["title"], "text": text[:MAX_TEXT], "truncated": len(text) > MAX_TEXT,
            "links": [{"n": i, **ln} for i, ln in enumerate(_links(ctx, row["id"]), start=1)],
            "navigation": [{"text": t, "url": ROOT + h.lstrip("/")} for h, t in NAV],
            "updated": row["updated_at"]}


@app.tool(read_only=True)
def browse(ctx, url: Url) -> dict:
    """Open an intranet page and return its readable text; links appear as [n] in the text and are listed
    with their URLs. Only http://intranet/ is reachable."""
    row = _page(ctx, url)
    ctx.episode.session.setdefault(HISTORY_KEY, []).append(row["url"])
    return _show(ctx, row)


@app.tool(read_only=True)
def go_back(ctx) -> dict:
    """Return to the previously browsed page (with no earlier page, stay where you are, like a browser)."""
    history = ctx.episode.session.setdefault(HISTORY_KEY, [])
    if len(history) < 2:
        if not history:
            history.append(ROOT)  # a fresh browser shows the intranet's home page
        return {**_show(ctx, _page(ctx, history[-1])), "note": "no previous page in this session's history"}
    history.pop()
    return _show(ctx, _page(ctx, history[-1]))


@app.tool(read_only=True)
def get_links(ctx, url: Url) -> dict:
    """The links of a page, and the pages that link to it."""
    row = _page(ctx, url)
    back = ctx.all("SELECT DISTINCT p.url, p.title FROM web_links l JOIN web_pages p ON p.id = l.page_id "
                   "WHERE l.href = ? ORDER BY p.url LIMIT 50", row["url"])
    return {"url": row["url"], "links": _links(ctx, row["id"]), "linked_from": back}


@app.tool(read_only=True)
def search_intranet(ctx, query: Annotated[str, Field(description="Words to search for (all must appear)",
                                                     min_length=1, max_length=200)],
                    section: Annotated[str | None, Field(description="Limit to one section: policies, wiki, kb, "
                                                                     "announcements, teams, people, onboarding, hr")] = None,
                    limit: Annotated[int, Field(description="Maximum results", ge=1, le=50)] = 10) -> dict:
    """Search intranet pages by title and text; title matches rank first."""
    terms = [t for t in query.lower().split() if t][:8]
    if not terms:
        raise ToolError("invalid_arguments", "query has no words")
    where = " AND ".join("(title LIKE ? OR text LIKE ?)" for _ in terms)
    args: list = [a for t in terms for a in (f"%{t}%", f"%{t}%")]
    if section:
        where += " AND section = ?"
        args.append(section)
    rows = ctx.all(f"SELECT url, title, text, section, ({' + '.join('(title LIKE ?)' for _ in terms)}) AS in_title "
                   f"FROM web_pages WHERE {where} ORDER BY in_title DESC, length(text) LIMIT ?",
                   *[f"%{t}%" for t in terms], *args, limit)
    results = []
    for r in rows:
        low = r["text"].lower()
        at = max(low.find(terms[0]), 0)
        snippet = " ".join(r["text"][max(at - 80, 0): at + 160].split())
        results.append({"url": r["url"], "title": r["title"], "section": r["section"], "snippet": snippet})
    return {"query": query, "results": results}
