"""The arena's framework: apps and tools (`app`), world templates (`world`), episodes
(`episode`), tool context (`context`), errors, seed vocabulary (`fake`) and MCP serving (`server`)."""
