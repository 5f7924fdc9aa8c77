"""A remote MCP server from the official Python `mcp` SDK, for the `thoth run --url` tests.

    python remote_server.py sse|streamable-http PORT

`sse` is the legacy HTTP+SSE transport (2024-11-05): GET /sse, POST /messages/ (a POST to /sse is refused
with a 4xx, which `--transport auto` falls back on). `streamable-http` serves /mcp. Tools: `echo`, `secret`.
uvicorn's "Uvicorn running on" line on stderr says it listens.
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("py-remote", version="1")


@server.tool()
def echo(message: str) -> str:
    """Echo the message back."""
    return f"py echo: {message}"


@server.tool()
def secret() -> str:
    """A tool the tests never allow."""
    return "the secret reached the client"


if __name__ == "__main__":
    transport, port = sys.argv[1], int(sys.argv[2])
    server.run(transport, host="127.0.0.1", port=port)
