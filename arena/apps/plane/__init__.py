"""Plane: projects (identifier "WEB"), per-project workflow states, labels, issue types, issues with
readable ids ("WEB-12"), comments, modules, cycles (sprints), worklogs, workspace members. Tool names
and parameters follow the published arena's Plane MCP server (a superset: list_project_issues,
get_issue, create_issue and project tools come from Plane's own MCP server and REST API)."""
from arena.apps.plane.schema import SCHEMA
from arena.core.app import App

app = App("plane", title="Plane", domain="Operations & IT", schema=SCHEMA,
          description="Project management: issues with a state workflow, cycles (sprints), modules, worklogs.")

from arena.apps.plane import planning_tools, project_tools, seed, tools  # noqa: E402,F401  (registers tools, handlers, seeders)
