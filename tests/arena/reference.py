"""The published arena's MCP tool surfaces (shared/reference beside the checkout, as on the dev
machines and in CI); tests that compare against them skip where that folder is absent."""
import json
from pathlib import Path

import pytest

SURFACES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "mcp_tool_surfaces.json"


def reference_tools(app: str) -> list:
    if not SURFACES.exists():
        pytest.skip(f"{SURFACES} is not beside this checkout")
    return json.loads(SURFACES.read_text())["apps"][app]
