"""Dolibarr ERP/CRM: third parties (customers, suppliers), products and services, customer orders
with lines, projects, Dolibarr users, holidays (leave requests), timesheets and Dolibarr's own
invoices. Tool names and parameters follow the published arena's Dolibarr MCP server
(get_companies, create_holiday_request, ...) and Dolibarr's REST API for the rest."""
from arena.apps.dolibarr.schema import SCHEMA
from arena.core.app import App

app = App("dolibarr", title="Dolibarr", domain="CRM", schema=SCHEMA,
          description="ERP/CRM: companies, products, customer orders, projects, users, holidays, timesheets.")

from arena.apps.dolibarr import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
