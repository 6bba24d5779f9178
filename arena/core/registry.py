"""Which apps make up the arena, in a fixed order (domain by domain, as in the published arena)."""
from __future__ import annotations

import importlib

from arena.core.app import App
from arena.core.company import CORE

# name -> domain; each is the package arena/apps/<name>/ exposing `app`
APP_DOMAINS = {
    "rocketchat": "Communication",
    "mail": "Communication",
    "gitlab": "Development",
    "zammad": "Operations & IT",
    "plane": "Operations & IT",
    "frappe": "Human resources",
    "calendar": "Human resources",
    "docstore": "Data & storage",
    "owncloud": "Data & storage",
    "dolibarr": "CRM",
    "salesforce": "CRM",
    "invoice": "Finance",
    "filesystem": "Utilities",
    "bash": "Utilities",
    "browser": "Utilities",
}
APP_NAMES = list(APP_DOMAINS)


def load_apps(names: list[str] | None = None) -> list[App]:
    """The core company plus the named apps (all by default) and the apps they depend on."""
    wanted = list(APP_NAMES if names is None else names)
    unknown = [n for n in wanted if n not in APP_DOMAINS]
    if unknown:
        raise ValueError(f"unknown app(s) {', '.join(unknown)}; known: {', '.join(APP_NAMES)}")
    apps: dict[str, App] = {"core": CORE}
    queue = list(wanted)
    while queue:
        name = queue.pop(0)
        if name in apps:
            continue
        app = importlib.import_module(f"arena.apps.{name}").app
        apps[name] = app
        queue.extend(d for d in app.depends_on if d not in apps)
    return list(apps.values())
