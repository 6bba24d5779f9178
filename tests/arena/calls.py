"""One tool call in a test episode: `ok` expects success and returns the result; `refused`
expects the error `code` and checks that the refused call changed nothing.

    from tests.arena.calls import ok, refused          # full names: ok(ep, "mail.send_email", {...})
    ok, refused = app_calls("plane")                   # short names: ok(ep, "create_project", {...})
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, Optional, Tuple


def _name(tool: str, app: str) -> str:
    return tool if not app or "." in tool else f"{app}.{tool}"


def ok(ep: Any, tool: str, args: Optional[Dict[str, Any]] = None, app: str = "") -> Any:
    obs = ep.call(_name(tool, app), args or {})
    assert obs.ok, obs.to_dict()
    return obs.result


def refused(ep: Any, tool: str, args: Dict[str, Any], code: str, app: str = "") -> Dict[str, Any]:
    before = ep.state_hash()
    obs = ep.call(_name(tool, app), args)
    assert not obs.ok, f"{tool} should have been refused: {obs.to_dict()}"
    assert obs.error["code"] == code, obs.to_dict()
    assert ep.state_hash() == before
    return obs.error


def app_calls(app: str) -> Tuple[Callable[..., Any], Callable[..., Dict[str, Any]]]:
    """`ok` and `refused` that take the tool names of one app without its prefix."""
    return partial(ok, app=app), partial(refused, app=app)
