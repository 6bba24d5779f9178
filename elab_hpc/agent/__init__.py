"""Agents: model backends (`backends/`), the bundled tiny model (`tiny_model`), ReAct and
function-calling scaffolds, rollout logging and caching."""
