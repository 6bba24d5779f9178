"""The one place that decides which paths the agent's disk has: everything under /home/agent."""
from __future__ import annotations

import posixpath

from arena.core.errors import ToolError

HOME = "/home/agent"


def confine(path: str) -> str:
    """Absolute, normalized path under HOME; anything that escapes it is refused."""
    if not isinstance(path, str) or not path.strip():
        raise ToolError("invalid_arguments", "path must be a non-empty string")
    raw = path.strip()
    if "\x00" in raw:
        raise ToolError("invalid_arguments", "path contains a NUL byte")
    if raw == "~" or raw.startswith("~/"):
        raw = HOME + raw[1:]
    full = posixpath.normpath(raw if raw.startswith("/") else posixpath.join(HOME, raw))
    if full.startswith("//"):
        full = "/" + full.lstrip("/")
    if full != HOME and not full.startswith(HOME + "/"):
        raise ToolError("permission_denied", f"access denied: {path!r} is outside the allowed directory {HOME}",
                        path=path, allowed=[HOME])
    return full


def parent_of(path: str) -> str | None:
    return None if path == HOME else posixpath.dirname(path)
