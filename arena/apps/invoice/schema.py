SCHEMA = """
CREATE TABLE inv_invoices (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,                       -- INV-2026-00042
    customer TEXT NOT NULL,
    thirdparty_id INTEGER REFERENCES dl_thirdparties(id),
    order_id INTEGER UNIQUE REFERENCES dl_orders(id),  -- an order is invoiced at most once
    currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    issue_date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Draft' CHECK (status IN ('Draft', 'Validated', 'Paid', 'Cancelled')),
    subtotal REAL NOT NULL DEFAULT 0,
    tax_total REAL NOT NULL DEFAULT 0,
    total REAL NOT NULL DEFAULT 0 CHECK (total >= 0),
    amount_paid REAL NOT NULL DEFAULT 0 CHECK (amount_paid >= 0 AND amount_paid <= total + 0.001),
    note TEXT,
    created_by INTEGER REFERENCES users(id),
    validated_by INTEGER REFERENCES users(id),
    validated_at TEXT,
    cancel_reason TEXT,
    sent_at TEXT,                                      -- last time it was e-mailed (send_invoice)
    CHECK (due_date >= issue_date)
);
CREATE INDEX inv_invoices_status ON inv_invoices(status, due_date);
CREATE INDEX inv_invoices_customer ON inv_invoices(customer COLLATE NOCASE);
CREATE INDEX inv_invoices_thirdparty ON inv_invoices(thirdparty_id);
CREATE TABLE inv_lines (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES inv_invoices(id),
    description TEXT NOT NULL,
    quantity REAL NOT NULL CHECK (quantity > 0),
    unit_price REAL NOT NULL CHECK (unit_price >= 0),
    tax_rate REAL NOT NULL DEFAULT 0 CHECK (tax_rate >= 0 AND tax_rate <= 1),  -- 0.2 = 20 %
    line_total REAL NOT NULL                           -- quantity * unit_price * (1 + tax_rate), in cents
);
CREATE INDEX inv_lines_invoice ON inv_lines(invoice_id);
CREATE TABLE inv_payments (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES inv_invoices(id),
    amount REAL NOT NULL CHECK (amount > 0),
    paid_on TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('bank_transfer', 'card', 'cash', 'check')),
    reference TEXT,
    recorded_by INTEGER REFERENCES users(id),
    recorded_at TEXT NOT NULL
);
CREATE INDEX inv_payments_invoice ON inv_payments(invoice_id);
"""
