"""Document store: a MongoDB-style database of JSON documents (IT asset inventory, customer
feedback, knowledge-base articles). Tool names and parameters follow the MongoDB MCP server
(find, aggregate, count, insert, update, delete with `database`, `collection`, `filter`, ...);
filters, updates and pipelines use MongoDB's operators (see query.py)."""
from arena.apps.docstore.schema import SCHEMA
from arena.core.app import App

app = App("docstore", title="Document store (MongoDB)", domain="Data & storage", schema=SCHEMA,
          description="Collections of JSON documents queried with MongoDB filters and aggregation pipelines.")

from arena.apps.docstore import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
