"""Salesforce CRM: accounts, contacts, opportunities, cases, and a SOQL query endpoint. Tool names
follow Salesforce's REST API and the common Salesforce MCP servers (describe_object, soql_query,
get_record, create_record, update_record, delete_record, search_records)."""
from arena.apps.salesforce.schema import SCHEMA
from arena.core.app import App

app = App("salesforce", title="Salesforce", domain="CRM", schema=SCHEMA,
          description="CRM: accounts, contacts, opportunity pipeline, support cases; SOQL queries.")

from arena.apps.salesforce import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
