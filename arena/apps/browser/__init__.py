"""Browser: the company intranet (wiki, policies, knowledge base, announcements, team and people
pages) served from the arena's database. Only http://intranet/ is reachable: any other host,
scheme or address is refused, so an agent cannot leave the company network."""
from arena.apps.browser.schema import SCHEMA
from arena.core.app import App

app = App("browser", title="Intranet browser", domain="Utilities", schema=SCHEMA,
          description="Read intranet pages as text, follow links, search the intranet.")

from arena.apps.browser import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
