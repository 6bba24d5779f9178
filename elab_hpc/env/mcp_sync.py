"""Persistent MCP client connections usable from synchronous code (the synthesizer, the agent
runner and the checks are synchronous; the `mcp` client is async).

An event loop runs in a background thread (an anyio blocking portal); each source's client is
entered once inside it and stays connected (one stdio server process, or one HTTP session) until
`close()`. Calls return `(ok, result, error)` in the arena's conventions:

- result: the tool's structured content (a dict). `MCPServer`/FastMCP wrap non-object returns,
  and with some annotations every return, as `{"result": ...}` with an output schema naming only
  `result`; that wrapper is removed. Without structured content the text is parsed as JSON, else
  kept as `{"text": ...}`.
- error: `{"code", "message"}`. A server that puts `{"error": {"code", "message"}}` JSON into its
  error text (as the arena and the example server do) keeps its codes; other error texts become
  `invalid_arguments` (the SDK's argument validation) or `tool_error`. A dropped connection or a
  timeout is `transport_error`, never an exception.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from elab_hpc.env.sources import SourceConfig, connect

Result = Tuple[bool, Optional[Dict[str, Any]], Optional[Dict[str, Any]]]


def _error_from_text(text: str) -> Dict[str, Any]:
    start = text.find("{")
    if start >= 0:
        try:
            payload = json.loads(text[start:])
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
            err = payload["error"]
            return {"code": str(err.get("code") or "tool_error"), "message": str(err.get("message") or text),
                    **({"details": err["details"]} if "details" in err else {})}
    code = "invalid_arguments" if "validation error" in text else "tool_error"
    return {"code": code, "message": text[:2000]}


def observation_of(result: Any, output_schema: Optional[Dict[str, Any]] = None) -> Result:
    """An MCP CallToolResult → (ok, result, error)."""
    text = "\n".join(getattr(c, "text", "") for c in (result.content or []) if getattr(c, "text", None))
    if result.is_error:
        data = result.structured_content
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return False, None, {"code": str(data["error"].get("code") or "tool_error"),
                                 "message": str(data["error"].get("message") or "")}
        return False, None, _error_from_text(text or "tool error")
    data: Any = result.structured_content
    props = set(((output_schema or {}).get("properties") or {}))
    if isinstance(data, dict) and props == {"result"} and set(data) == {"result"}:
        data = data["result"]
    if data is None:
        try:
            data = json.loads(text)
        except ValueError:
            data = {"text": text}
    if not isinstance(data, dict):
        data = {"result": data}
    return True, data, None


class SyncMCP:
    """One connected client per source, callable from any thread but one call at a time."""

    def __init__(self, sources: Sequence[SourceConfig]):
        from anyio.from_thread import start_blocking_portal

        self._portal_cm = start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._cms: List[Any] = []
        self.clients: Dict[str, Any] = {}
        try:
            for s in sources:
                cm = self.portal.wrap_async_context_manager(connect(s))
                self.clients[s.name] = cm.__enter__()
                self._cms.append(cm)
        except BaseException:
            self.close()
            raise

    def list_tools(self, source: str) -> List[Any]:
        return self.portal.call(self.clients[source].list_tools).tools

    def call(self, source: str, name: str, args: Dict[str, Any],
             output_schema: Optional[Dict[str, Any]] = None) -> Result:
        client = self.clients[source]
        try:
            result = self.portal.call(client.call_tool, name, args)
        except Exception as exc:  # noqa: BLE001 - a dead server is an observation, not a crash
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return False, None, {"code": "transport_error", "message": f"{type(exc).__name__}: {first[:300]}"}
        return observation_of(result, output_schema)

    def close(self) -> None:
        while self._cms:
            cm = self._cms.pop()
            try:
                cm.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - closing a broken connection must not mask the real error
                pass
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = None
