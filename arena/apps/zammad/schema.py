# Zammad users are customers (external people, or staff filing IT requests) and agents (staff).
# Agents and staff customers point at the company person (user_id); external customers have none.
SCHEMA = """
CREATE TABLE zm_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    note TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE zm_organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    domain TEXT,
    shared INTEGER NOT NULL DEFAULT 1,
    note TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE zm_users (
    id INTEGER PRIMARY KEY,
    user_id INTEGER UNIQUE REFERENCES users(id),
    login TEXT NOT NULL UNIQUE,
    firstname TEXT NOT NULL,
    lastname TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    organization_id INTEGER REFERENCES zm_organizations(id),
    role TEXT NOT NULL CHECK (role IN ('Admin', 'Agent', 'Customer')),
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE INDEX zm_users_org ON zm_users(organization_id);
CREATE TABLE zm_group_members (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES zm_groups(id),
    agent_id INTEGER NOT NULL REFERENCES zm_users(id),
    UNIQUE (group_id, agent_id)
);
CREATE INDEX zm_group_members_agent ON zm_group_members(agent_id);
CREATE TABLE zm_tickets (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    group_id INTEGER NOT NULL REFERENCES zm_groups(id),
    state TEXT NOT NULL DEFAULT 'new'
        CHECK (state IN ('new', 'open', 'pending reminder', 'pending close', 'closed', 'merged')),
    priority TEXT NOT NULL DEFAULT '2 normal' CHECK (priority IN ('1 low', '2 normal', '3 high')),
    customer_id INTEGER NOT NULL REFERENCES zm_users(id),
    organization_id INTEGER REFERENCES zm_organizations(id),
    owner_id INTEGER REFERENCES users(id),
    pending_time TEXT,
    merged_into_id INTEGER REFERENCES zm_tickets(id),
    created_by_id INTEGER REFERENCES zm_users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    close_at TEXT,
    CHECK ((state = 'merged') = (merged_into_id IS NOT NULL)),
    CHECK (state NOT LIKE 'pending%' OR pending_time IS NOT NULL)
);
CREATE INDEX zm_tickets_state ON zm_tickets(state);
CREATE INDEX zm_tickets_owner ON zm_tickets(owner_id);
CREATE INDEX zm_tickets_customer ON zm_tickets(customer_id);
CREATE INDEX zm_tickets_group ON zm_tickets(group_id);
CREATE INDEX zm_tickets_updated ON zm_tickets(updated_at);
CREATE TABLE zm_articles (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES zm_tickets(id),
    type TEXT NOT NULL CHECK (type IN ('note', 'email', 'phone', 'web')),
    sender TEXT NOT NULL CHECK (sender IN ('Agent', 'Customer', 'System')),
    internal INTEGER NOT NULL DEFAULT 0,
    subject TEXT,
    body TEXT NOT NULL,
    from_addr TEXT,
    to_addr TEXT,
    created_by_id INTEGER NOT NULL REFERENCES zm_users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX zm_articles_ticket ON zm_articles(ticket_id);
CREATE TABLE zm_attachments (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES zm_articles(id),
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL
);
CREATE INDEX zm_attachments_article ON zm_attachments(article_id);
CREATE TABLE zm_tags (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES zm_tickets(id),
    tag TEXT NOT NULL,
    UNIQUE (ticket_id, tag)
);
CREATE INDEX zm_tags_tag ON zm_tags(tag);
"""
