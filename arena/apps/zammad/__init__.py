"""Zammad: help-desk tickets with articles (notes, emails, phone calls), tags, customers and their
organizations, agent groups. Tool names and parameters follow the published arena's Zammad MCP
server (zammad_search_tickets, zammad_create_ticket, ...) and Zammad's REST API."""
from arena.apps.zammad.schema import SCHEMA
from arena.core.app import App

app = App("zammad", title="Zammad", domain="Operations & IT", schema=SCHEMA,
          description="Help desk: tickets, articles, tags, customers, organizations and agent groups.")

from arena.apps.zammad import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
