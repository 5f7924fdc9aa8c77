"""Initialize a session with the official Python `mcp` SDK and print the outcome as one JSON line.

    python initialize_probe.py <command...>

Prints {"initialized": true, "server": NAME} or {"error": {"code", "message", "data"}} (the JSON-RPC error the
SDK raised), so a test can see a refusal to start exactly as an MCP client does.
"""

import json
import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError


async def main(command: list[str]) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    with anyio.fail_after(60):
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                try:
                    init = await session.initialize()
                    print(json.dumps({"initialized": True, "server": init.server_info.name}))
                except MCPError as e:
                    print(json.dumps({"error": {"code": e.code, "message": e.message, "data": e.data}}))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:])
