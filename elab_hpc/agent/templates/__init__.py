"""Chat templates the project supplies (Jinja files next to this module).

`chatml_tools` is ChatML with tool support and `{% generation %}` markers, for models whose own
template has neither (the bundled SmolLM2). `apply(tokenizer, "auto")` installs it only when the
tokenizer's template cannot render `tools`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from elab_hpc.errors import ConfigError

HERE = Path(__file__).resolve().parent
DEFAULT = "chatml_tools"


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.jinja"))


@lru_cache(maxsize=None)
def load(name: str = DEFAULT) -> str:
    path = HERE / f"{name}.jinja"
    if not path.is_file():
        raise ConfigError(f"chat_template: unknown template '{name}' (bundled: {', '.join(names())}; "
                          "or `auto` / `model`)")
    return path.read_text()


def supports_tools(template: str | None) -> bool:
    return bool(template) and "tools" in template


def apply(tokenizer: Any, choice: str = "auto") -> str:
    """Set the tokenizer's chat template per `choice` and say which one it uses:
    `model` keeps its own, `auto` keeps it if it renders tools (else ours), a name installs that one."""
    own = getattr(tokenizer, "chat_template", None)
    if choice == "model" or (choice == "auto" and supports_tools(own)):
        if not own:
            raise ConfigError("chat_template: the model has no chat template; use `auto` or a bundled name")
        return "model"
    name = DEFAULT if choice == "auto" else choice
    tokenizer.chat_template = load(name)
    return name
