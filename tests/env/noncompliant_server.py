"""A hand-rolled MCP server (plain JSON-RPC over stdio, no SDK) whose tool listing breaks the MCP
schema: tools without input schemas, a schema that is a string. Real servers in the wild do this;
discovery must report the server, not crash."""
import json
import sys


def reply(msg_id, result=None, error=None):
    out = {"jsonrpc": "2.0", "id": msg_id}
    out["error" if error else "result"] = error or result
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    method, msg_id = msg.get("method"), msg.get("id")
    if msg_id is None:  # a notification
        continue
    if method == "initialize":
        reply(msg_id, {"protocolVersion": msg["params"].get("protocolVersion", "2025-06-18"),
                       "capabilities": {"tools": {}}, "serverInfo": {"name": "noncompliant", "version": "0"}})
    elif method == "tools/list":
        reply(msg_id, {"tools": [{"name": "no_schema", "description": "lacks inputSchema"},
                                 {"name": "string_schema", "description": "x", "inputSchema": "object"}]})
    elif method == "ping":
        reply(msg_id, {})
    else:
        reply(msg_id, error={"code": -32601, "message": f"method not found: {method}"})
