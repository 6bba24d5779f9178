"""ownCloud: company file storage — department group folders, personal folders, sharing with
users or by public link, file versions, quotas. The nine tools of the published arena's ownCloud
MCP server keep their names and parameters; upload_file/download_file move files between the
cloud and the agent's local disk (the filesystem app)."""
from arena.apps.owncloud.schema import SCHEMA
from arena.core.app import App

app = App("owncloud", title="ownCloud", domain="Data & storage", schema=SCHEMA,
          depends_on=("core", "filesystem", "frappe"),
          description="Files and folders, sharing, versions and quotas; transfers to/from the local disk.")

from arena.apps.owncloud import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
