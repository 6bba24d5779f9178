"""Structured tool errors. Every failure an agent can cause is one of these codes, so that
rewards, error analysis and training data can tell them apart without parsing prose."""
from __future__ import annotations

from typing import Any

# code -> meaning (also documented in README's arena guide)
ERROR_CODES = {
    "unknown_tool": "no tool of that name exists (in this app / surface)",
    "ambiguous_tool": "the bare name exists in several apps; qualify it as app.tool",
    "invalid_arguments": "missing, unexpected or mistyped arguments",
    "payload_too_large": "an argument exceeds the size limit",
    "not_found": "a referenced entity does not exist",
    "conflict": "uniqueness violated (e.g. a username or path that already exists)",
    "permission_denied": "the acting user's role does not allow this",
    "rule_violation": "an enterprise rule forbids it (e.g. leave balance would go negative)",
    "invalid_transition": "the entity's state machine does not allow this change",
    "sandbox_error": "the sandboxed command could not run or was stopped",
    "internal_error": "a bug in the arena; the state was rolled back",
}


class ToolError(Exception):
    """Raised by a tool to refuse a call. The episode rolls back everything the call wrote."""

    def __init__(self, code: str, message: str, **details: Any):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


def not_found(what: str, key: Any) -> ToolError:
    return ToolError("not_found", f"{what} {key!r} not found", entity=what, key=key)
