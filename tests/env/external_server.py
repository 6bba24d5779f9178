"""A small third-party MCP server run over stdio by the registry tests: a helpdesk with a few
well-formed tools and some whose schemas are broken (as real servers in the wild sometimes are)."""
import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

TICKETS: dict[int, dict] = {}

GOOD = [
    types.Tool(name="open_ticket", description="Open a helpdesk ticket.",
               input_schema={"type": "object", "properties": {
                   "subject": {"type": "string", "description": "Short summary"},
                   "assignee": {"type": "string", "description": "Username of the agent"},
                   "project": {"type": "string", "description": "Project key"}},
                   "required": ["subject", "project"]},
               output_schema={"type": "object", "properties": {"ticket_id": {"type": "integer"}}}),
    types.Tool(name="get_ticket", description="Get a ticket by id.",
               input_schema={"type": "object", "properties": {
                   "ticket_id": {"type": "integer", "description": "Ticket id"}}, "required": ["ticket_id"]},
               annotations=types.ToolAnnotations(read_only_hint=True)),
    types.Tool(name="list_tickets", description="List open tickets.",
               input_schema={"type": "object", "properties": {}},
               annotations=types.ToolAnnotations(read_only_hint=True)),
]
BROKEN = [
    types.Tool(name="weird_types", description="Parameter with an unknown JSON type.",
               input_schema={"type": "object", "properties": {"x": {"type": "banana"}}}),
    types.Tool(name="required_ghost", description="Requires a parameter it does not define.",
               input_schema={"type": "object", "properties": {}, "required": ["ghost"]}),
    types.Tool(name="no_description", description="",
               input_schema={"type": "object", "properties": {}}),
]


async def list_tools(ctx, params):
    return types.ListToolsResult(tools=GOOD + BROKEN)


async def call_tool(ctx, params):
    args = params.arguments or {}
    if params.name == "open_ticket":
        tid = len(TICKETS) + 1
        TICKETS[tid] = {"subject": args["subject"], "project": args["project"], "assignee": args.get("assignee")}
        result = {"ticket_id": tid}
    elif params.name == "get_ticket":
        result = {"ticket": TICKETS.get(int(args["ticket_id"]))}
    elif params.name == "list_tickets":
        result = {"tickets": [{"ticket_id": k, **v} for k, v in TICKETS.items()]}
    else:
        return types.CallToolResult(content=[types.TextContent(type="text", text="broken tool")], is_error=True)
    import json

    return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(result))],
                                structured_content=result)


async def main():
    server = Server("helpdesk", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
