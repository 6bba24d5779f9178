"""The agent's view of its environment: discover tools from MCP servers (`sources`, `discovery`),
normalize them into one action schema with canonical parameter names (`aliases`, `schema`),
classify what each tool does (`classify`), detect drift between snapshots (`drift`), and turn
raw tool outputs into bounded JSON observations (`observation`)."""
