# Salesforce's 15-character record ids are derived from `id` and the object's key prefix
# (see objects.py), so the tables keep plain integer keys.
SCHEMA = """
CREATE TABLE sf_users (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    username TEXT NOT NULL UNIQUE,
    profile TEXT NOT NULL CHECK (profile IN ('System Administrator', 'Sales Manager', 'Standard User')),
    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);
CREATE TABLE sf_accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    type TEXT CHECK (type IN ('Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other')),
    industry TEXT,
    billing_city TEXT,
    billing_country TEXT,
    phone TEXT,
    website TEXT,
    annual_revenue REAL CHECK (annual_revenue IS NULL OR annual_revenue >= 0),
    number_of_employees INTEGER CHECK (number_of_employees IS NULL OR number_of_employees >= 0),
    description TEXT,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL
);
CREATE INDEX sf_accounts_owner ON sf_accounts(owner_id);
CREATE TABLE sf_contacts (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES sf_accounts(id),
    first_name TEXT,
    last_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    title TEXT,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL
);
CREATE INDEX sf_contacts_account ON sf_contacts(account_id);
CREATE INDEX sf_contacts_email ON sf_contacts(email);
CREATE TABLE sf_opportunities (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES sf_accounts(id),
    name TEXT NOT NULL,
    stage_name TEXT NOT NULL CHECK (stage_name IN
        ('Prospecting', 'Qualification', 'Proposal', 'Negotiation', 'Closed Won', 'Closed Lost')),
    amount REAL CHECK (amount IS NULL OR amount >= 0),
    close_date TEXT NOT NULL,
    probability INTEGER CHECK (probability BETWEEN 0 AND 100),
    type TEXT,
    lead_source TEXT,
    description TEXT,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL
);
CREATE INDEX sf_opportunities_account ON sf_opportunities(account_id);
CREATE INDEX sf_opportunities_stage ON sf_opportunities(stage_name);
CREATE TABLE sf_cases (
    id INTEGER PRIMARY KEY,
    case_number TEXT NOT NULL UNIQUE,
    account_id INTEGER REFERENCES sf_accounts(id),
    contact_id INTEGER REFERENCES sf_contacts(id),
    subject TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'New' CHECK (status IN ('New', 'Working', 'Escalated', 'Closed')),
    priority TEXT NOT NULL DEFAULT 'Medium' CHECK (priority IN ('Low', 'Medium', 'High', 'Critical')),
    origin TEXT NOT NULL DEFAULT 'Web' CHECK (origin IN ('Email', 'Phone', 'Web', 'Chat')),
    owner_id INTEGER NOT NULL REFERENCES users(id),
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    closed_date TEXT
);
CREATE INDEX sf_cases_account ON sf_cases(account_id);
CREATE INDEX sf_cases_status ON sf_cases(status);
"""
