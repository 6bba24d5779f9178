"""The Finance invoice system: customer invoices with lines and payments. Draft → Validated → Paid
(or Cancelled); totals are always recomputed from the lines; payments never exceed what is owed.
It invoices Dolibarr customer orders (create_invoice_from_order) and e-mails invoices through the
mail app (send_invoice), so it depends on both."""
from arena.apps.invoice.schema import SCHEMA
from arena.core.app import App

app = App("invoice", title="Finance Invoicing", domain="Finance", schema=SCHEMA, depends_on=("core", "dolibarr", "mail"),
          description="Customer invoices, lines, payments; invoicing of CRM orders.")

from arena.apps.invoice import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
