# Dolibarr keeps people in its own `llx_user`; here dl_users links each login to the company
# person (users.id) when there is one. Holidays and timesheets use Dolibarr user ids (fk_user),
# as Dolibarr's API does.
SCHEMA = """
CREATE TABLE dl_users (
    id INTEGER PRIMARY KEY,
    user_id INTEGER UNIQUE REFERENCES users(id),
    login TEXT NOT NULL UNIQUE,
    firstname TEXT NOT NULL,
    lastname TEXT NOT NULL,
    email TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    statut INTEGER NOT NULL DEFAULT 1 CHECK (statut IN (0, 1)),
    pass_hash TEXT,
    holiday_balance REAL NOT NULL DEFAULT 25 CHECK (holiday_balance >= 0),  -- paid-leave days left
    datec TEXT NOT NULL
);
CREATE TABLE dl_thirdparties (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    name_alias TEXT,
    client INTEGER NOT NULL DEFAULT 1 CHECK (client IN (0, 1, 2, 3)),   -- 1 customer, 2 prospect, 3 both
    fournisseur INTEGER NOT NULL DEFAULT 0 CHECK (fournisseur IN (0, 1)),
    code_client TEXT UNIQUE,
    code_fournisseur TEXT UNIQUE,
    email TEXT,
    phone TEXT,
    address TEXT,
    zip TEXT,
    town TEXT,
    country_code TEXT,
    status INTEGER NOT NULL DEFAULT 1 CHECK (status IN (0, 1)),
    sales_rep_id INTEGER REFERENCES users(id),
    date_creation TEXT NOT NULL,
    note_public TEXT
);
CREATE TABLE dl_products (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    type INTEGER NOT NULL DEFAULT 0 CHECK (type IN (0, 1)),            -- 0 product, 1 service
    price REAL NOT NULL DEFAULT 0 CHECK (price >= 0),
    tva_tx REAL NOT NULL DEFAULT 20 CHECK (tva_tx >= 0 AND tva_tx <= 100),  -- VAT in percent
    description TEXT,
    stock_reel INTEGER,
    status INTEGER NOT NULL DEFAULT 1 CHECK (status IN (0, 1)),         -- on sale
    datec TEXT NOT NULL
);
CREATE INDEX dl_products_type ON dl_products(type);
CREATE TABLE dl_orders (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    socid INTEGER NOT NULL REFERENCES dl_thirdparties(id),
    ref_client TEXT,
    date_commande TEXT NOT NULL,
    date_livraison TEXT,
    status TEXT NOT NULL DEFAULT 'Draft'
        CHECK (status IN ('Draft', 'Validated', 'Shipped', 'Billed', 'Cancelled')),
    total_ht REAL NOT NULL DEFAULT 0,
    total_tva REAL NOT NULL DEFAULT 0,
    total_ttc REAL NOT NULL DEFAULT 0,
    author_id INTEGER REFERENCES users(id),
    valid_by INTEGER REFERENCES users(id),
    date_valid TEXT,
    note_public TEXT
);
CREATE INDEX dl_orders_socid ON dl_orders(socid);
CREATE INDEX dl_orders_status ON dl_orders(status);
CREATE TABLE dl_order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES dl_orders(id),
    product_id INTEGER REFERENCES dl_products(id),
    description TEXT NOT NULL,
    qty REAL NOT NULL CHECK (qty > 0),
    subprice REAL NOT NULL CHECK (subprice >= 0),
    tva_tx REAL NOT NULL DEFAULT 20 CHECK (tva_tx >= 0 AND tva_tx <= 100),
    total_ht REAL NOT NULL,
    total_ttc REAL NOT NULL,
    rang INTEGER NOT NULL
);
CREATE INDEX dl_order_lines_order ON dl_order_lines(order_id);
CREATE TABLE dl_projects (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    socid INTEGER REFERENCES dl_thirdparties(id),
    description TEXT,
    status INTEGER NOT NULL DEFAULT 1 CHECK (status IN (0, 1, 2)),      -- 0 draft, 1 open, 2 closed
    manager_id INTEGER REFERENCES users(id),
    date_start TEXT,
    date_end TEXT,
    budget_amount REAL CHECK (budget_amount IS NULL OR budget_amount >= 0),
    datec TEXT NOT NULL
);
CREATE TABLE dl_holidays (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    fk_user INTEGER NOT NULL REFERENCES dl_users(id),
    type TEXT NOT NULL CHECK (type IN ('LEAVE_PAID', 'LEAVE_SICK', 'LEAVE_OTHER', 'LEAVE_UNPAID')),
    date_debut TEXT NOT NULL,
    date_fin TEXT NOT NULL,
    halfday INTEGER NOT NULL DEFAULT 0 CHECK (halfday IN (-1, 0, 1, 2)),  -- Dolibarr: -1 pm first day, 1 am last day, 2 both
    nb_days REAL NOT NULL CHECK (nb_days > 0),
    description TEXT,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'validated', 'approved', 'refused', 'cancelled')),
    fk_validator INTEGER REFERENCES users(id),
    date_approval TEXT,
    refuse_reason TEXT,
    datec TEXT NOT NULL,
    CHECK (date_fin >= date_debut)
);
CREATE INDEX dl_holidays_user ON dl_holidays(fk_user);
CREATE INDEX dl_holidays_status ON dl_holidays(status);
CREATE TABLE dl_timesheets (
    id INTEGER PRIMARY KEY,
    fk_user INTEGER NOT NULL REFERENCES dl_users(id),
    project_id INTEGER NOT NULL REFERENCES dl_projects(id),
    task_label TEXT NOT NULL,
    task_date TEXT NOT NULL,
    duration REAL NOT NULL CHECK (duration > 0 AND duration <= 24),     -- hours
    note TEXT
);
CREATE INDEX dl_timesheets_user_date ON dl_timesheets(fk_user, task_date);
CREATE TABLE dl_invoices (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    socid INTEGER NOT NULL REFERENCES dl_thirdparties(id),
    ref_client TEXT,
    date TEXT NOT NULL,
    date_lim_reglement TEXT,
    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'unpaid', 'paid', 'abandoned')),
    total_ht REAL NOT NULL DEFAULT 0,
    total_tva REAL NOT NULL DEFAULT 0,
    total_ttc REAL NOT NULL DEFAULT 0,
    note_public TEXT,
    author_id INTEGER REFERENCES users(id)
);
CREATE INDEX dl_invoices_socid ON dl_invoices(socid);
CREATE INDEX dl_invoices_status ON dl_invoices(status);
"""
