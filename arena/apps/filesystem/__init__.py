"""File system: the agent's local disk (`/home/agent`), kept in the arena's database so that an
episode reset is free and diff() sees every file change. Tool names and parameters follow the
official filesystem MCP server (read_file, write_file, edit_file, list_directory, ...); the bash
app runs real commands over the same files, and ownCloud uploads from / downloads to them."""
from arena.apps.filesystem.schema import SCHEMA
from arena.core.app import App

app = App("filesystem", title="File system", domain="Utilities", schema=SCHEMA,
          description="The agent's local disk under /home/agent: read, write, edit, search files.")

from arena.apps.filesystem import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
