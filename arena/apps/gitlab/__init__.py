"""GitLab: projects with real file trees and commit history, branches, issues, merge requests,
pipelines and project members. Tool names and parameters follow the published arena's GitLab MCP
server (search_repositories, get_file_contents, push_files, ...) and GitLab's REST API."""
from arena.apps.gitlab.schema import SCHEMA
from arena.core.app import App

app = App("gitlab", title="GitLab", domain="Development", schema=SCHEMA,
          description="Source code hosting: repositories, branches, commits, issues, merge requests, CI pipelines.")

from arena.apps.gitlab import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
