SCHEMA = """
CREATE TABLE web_pages (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE CHECK (url LIKE 'http://intranet/%'),
    title TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,              -- readable text of html (what browse returns), kept for search
    section TEXT NOT NULL,           -- home, policies, wiki, kb, announcements, teams, people, onboarding
    updated_at TEXT NOT NULL
);
CREATE INDEX web_pages_section ON web_pages(section);
CREATE TABLE web_links (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL REFERENCES web_pages(id),
    href TEXT NOT NULL,              -- absolute URL the link points to
    text TEXT NOT NULL
);
CREATE INDEX web_links_page ON web_links(page_id);
CREATE INDEX web_links_href ON web_links(href);
"""
