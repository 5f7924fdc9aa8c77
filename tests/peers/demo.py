"""A short, readable MCP session through thoth, with the official Python `mcp` SDK (what `bash .ci/demo` runs).

    python demo.py <thoth binary> <server command...>

Starts `thoth run --agent-id demo --approved-scope echo,get-sum -- <server>` in block mode, lists the server's
tools, makes two approved calls and one the scope does not allow, and prints what happened.
"""

import os
import sys

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError


async def main(thoth: str, server: list[str]) -> None:
    args = ["run", "--agent-id", "demo", "--enforcement-mode", "block", "--approved-scope", "echo,get-sum", "--", *server]
    env = dict(os.environ, THOTH_ENV=os.environ.get("THOTH_ENV", "dev"))
    print(f"$ {thoth} {' '.join(args)}")
    async with stdio_client(StdioServerParameters(command=thoth, args=args, env=env)) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(f"initialize: {init.server_info.name} {init.server_info.version}, protocol {init.protocol_version}")
            tools = await session.list_tools()
            print(f"tools/list: {len(tools.tools)} tools ({', '.join(t.name for t in tools.tools[:6])}, ...)")
            echo = await session.call_tool("echo", {"message": "hello through thoth"})
            print(f"tools/call echo -> {echo.content[0].text!r}")
            total = await session.call_tool("get-sum", {"a": 2, "b": 40})
            print(f"tools/call get-sum -> {total.content[0].text!r}")
            try:
                await session.call_tool("get-env", {})
                print("tools/call get-env -> allowed (unexpected)")
                sys.exit(1)
            except MCPError as e:
                print(f"tools/call get-env -> refused by thoth: code {e.code}: {e.message}")
                print(f"  error.data.thoth = {e.data.get('thoth') if isinstance(e.data, dict) else e.data}")
            echo = await session.call_tool("echo", {"message": "the session goes on"})
            print(f"tools/call echo -> {echo.content[0].text!r}")
    print("client closed stdin; thoth and the server exited")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2:])
