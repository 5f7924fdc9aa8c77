"""Drive a real MCP server over stdio with the official Python `mcp` SDK and print what was observed.

    python sdk_client.py [--scenario everything|filesystem] [--fs-root DIR] -- <server command...>

The server command is spawned with this process's whole environment. The scenario runs, the client closes, and ONE
JSON object goes to stdout (exit 0); any failure exits non-zero with a traceback on stderr. The observed facts are
normalised (no timestamps, no random values, no process ids) so that a run straight against a server and a run
through `thoth run -- <server>` can be compared key by key. The only facts that differ by construction are under
"process" (how many processes the command made), which callers check on their own.

Scenarios:
  everything  @modelcontextprotocol/server-everything (stdio): handshake, lists, tool calls, progress, sampling,
              elicitation, roots, binary resources, a 5 MiB echo, 50 concurrent calls, cancellation, clean close.
  filesystem  @modelcontextprotocol/server-filesystem started on --fs-root (which must hold hello.txt): list and
              read (expected allowed), write_file (reports its result or the JSON-RPC error the SDK raised), then
              one more read to show the session survived.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import mcp.client.stdio as sdk_stdio
import mcp_types as types
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import LATEST_MODERN_VERSION

# Whole-scenario guard and per-request timeout: a hang fails the run instead of blocking CI.
SCENARIO_TIMEOUT_S = 120
REQUEST_TIMEOUT_S = 60

SAMPLING_REPLY = "thoth sampling reply: 42"
ELICIT_CONTENT = {"name": "Thoth Tester", "check": True, "integer": 7}
ROOT_URI = "file:///tmp/thoth-sdk-client-root"
# 5 MiB of characters, mostly ASCII plus multi-byte text and the separators that must not split a frame.
BIG_CHARS = 5 * 1024 * 1024
BIG_UNIT = ("thoth-5MiB-payload " * 50) + "é€😀\u2028\u2029\u0085" + '"\\/\t'
CONCURRENT_CALLS = 50


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump(model: Any) -> Any:
    """A pydantic model as the JSON it came from (wire names, unset fields left out)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def texts(result: types.CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, types.TextContent)]


def call_error(e: MCPError) -> dict[str, Any]:
    return {"code": e.code, "message": e.message, "data": e.data}


def binary_payload() -> bytes:
    """64 KiB that exercises every byte value (deterministic, so runs compare)."""
    out = bytearray(range(256)) * 16
    x = 0x9E3779B9
    while len(out) < 64 * 1024:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append(x >> 24)
    return bytes(out)


def process_tree(root: int) -> list[int]:
    """Pids of `root` and its descendants (Linux /proc; elsewhere only `root`)."""
    if not os.path.isdir("/proc/self"):
        return [root]
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return sorted(tree)


def alive(pid: int) -> bool:
    """Running (a zombie or a vanished pid is not)."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Spawned:
    """Keeps the process the SDK's stdio transport spawns, to report its exit and its children."""

    process: Any = None

    @classmethod
    def install(cls) -> None:
        # The SDK exposes no handle on the child; wrap its (module-level) spawn helper to keep one.
        original = sdk_stdio._create_platform_compatible_process

        async def spawn(*args: Any, **kwargs: Any) -> Any:
            cls.process = await original(*args, **kwargs)
            return cls.process

        sdk_stdio._create_platform_compatible_process = spawn


class Callbacks:
    """Client-side answers to the server's requests, recording what was asked."""

    def __init__(self) -> None:
        self.sampling: list[dict[str, Any]] = []
        self.elicitation: list[dict[str, Any]] = []
        self.roots_requests = 0

    async def sampling_cb(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.sampling.append(dump(params))
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLING_REPLY),
            model="thoth-test-model",
            stop_reason="endTurn",
        )

    async def elicitation_cb(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.elicitation.append(dump(params))
        return types.ElicitResult(action="accept", content=dict(ELICIT_CONTENT))

    async def roots_cb(self, context: ClientRequestContext) -> types.ListRootsResult:
        self.roots_requests += 1
        return types.ListRootsResult(roots=[types.Root(uri=ROOT_URI, name="thoth-root")])


async def handshake(session: ClientSession) -> dict[str, Any]:
    """What `Client(mode="auto")` does: probe server/discover, fall back to initialize on an error."""
    out: dict[str, Any] = {}
    try:
        raw = await session.send_discover(LATEST_MODERN_VERSION)
        out["discover"] = {"result": raw}
    except MCPError as e:
        out["discover"] = {"error": call_error(e)}
    init = await session.initialize()
    out["initialize"] = dump(init)
    out["protocol_version"] = session.protocol_version
    return out


async def scenario_everything(session: ClientSession, cb: Callbacks) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    facts["handshake"] = await handshake(session)
    facts["ping"] = dump(await session.send_ping())

    tools = await session.list_tools()
    facts["tools_list"] = dump(tools)
    names = [t.name for t in tools.tools]
    for needed in ("echo", "get-sum", "trigger-long-running-operation", "trigger-sampling-request",
                   "trigger-elicitation-request", "gzip-file-as-resource", "get-tiny-image", "get-roots-list"):
        assert needed in names, f"server-everything lacks tool {needed!r}: {names}"
    facts["prompts_list"] = dump(await session.list_prompts())
    facts["resources_list"] = dump(await session.list_resources())
    facts["resource_templates_list"] = dump(await session.list_resource_templates())
    facts["prompt_simple"] = dump(await session.get_prompt("simple-prompt"))

    # Cancellation first, so the cancelled operation's remaining steps are over long before the close.
    facts["cancellation"] = await cancellation(session)

    echo = await session.call_tool("echo", {"message": "hello thoth ✓"})
    facts["echo"] = dump(echo)
    facts["get_sum"] = dump(await session.call_tool("get-sum", {"a": 2, "b": 40}))
    facts["structured"] = dump(await session.call_tool("get-structured-content", {"location": "New York"}))

    image = await session.call_tool("get-tiny-image", {})
    blocks = [c for c in image.content if isinstance(c, types.ImageContent)]
    assert len(blocks) == 1, dump(image)
    png = base64.b64decode(blocks[0].data, validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n"), png[:8]
    facts["tiny_image"] = {
        "mime_type": blocks[0].mime_type, "bytes": len(png), "sha256": sha256(png), "texts": texts(image),
    }

    # Progress: the server reports one notifications/progress per step against the SDK's progress token.
    progress: list[list[float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append([value, total])

    long = await session.call_tool(
        "trigger-long-running-operation", {"duration": 1, "steps": 5}, progress_callback=on_progress
    )
    # The SDK runs progress callbacks as tasks: let the last one (sent just before the result) land.
    with anyio.move_on_after(2):
        while len(progress) < 5:
            await anyio.sleep(0.01)
    facts["progress"] = {"count": len(progress), "values": progress, "result": texts(long)}

    # Server -> client requests answered by the client while the tools/call is outstanding.
    sampled = await session.call_tool("trigger-sampling-request", {"prompt": "What is 6 x 7?", "maxTokens": 20})
    facts["sampling"] = {"requests": cb.sampling, "result": texts(sampled)}
    elicited = await session.call_tool("trigger-elicitation-request", {})
    facts["elicitation"] = {
        "requests": [{"message": r.get("message"), "fields": sorted(r.get("requestedSchema", {}).get("properties", {}))}
                     for r in cb.elicitation],
        "result": texts(elicited),
    }
    roots = await session.call_tool("get-roots-list", {})
    facts["roots"] = {"answered": cb.roots_requests >= 1, "result": texts(roots)}

    facts["binary_resource"] = await binary_resource(session)
    facts["big_echo"] = await big_echo(session)
    facts["concurrent"] = await concurrent_calls(session)

    # The session still works after all of that.
    facts["final_echo"] = texts(await session.call_tool("echo", {"message": "still here"}))
    return facts


async def cancellation(session: ClientSession) -> dict[str, Any]:
    """Cancel an in-flight call (the SDK sends notifications/cancelled), then make sure the session still works."""
    first_progress = anyio.Event()
    seen: list[float] = []
    state = {"completed": False, "cancelled": False}
    scope = anyio.CancelScope()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append(value)
        first_progress.set()

    async def long_call() -> None:
        with scope:
            await session.call_tool(
                "trigger-long-running-operation", {"duration": 2, "steps": 20}, progress_callback=on_progress
            )
            state["completed"] = True
        state["cancelled"] = scope.cancelled_caught

    async with anyio.create_task_group() as tg:
        tg.start_soon(long_call)
        with anyio.fail_after(20):
            await first_progress.wait()
        scope.cancel()
    after = await session.call_tool("get-sum", {"a": 20, "b": 22})
    return {
        "cancelled": state["cancelled"],
        "completed": state["completed"],
        "progress_before_cancel": len(seen) >= 1,
        "call_after_cancel": texts(after),
    }


async def binary_resource(session: ClientSession) -> dict[str, Any]:
    """Binary bytes both ways: a data: URI in, a gzip blob resource out; plus a dynamic blob resource."""
    payload = binary_payload()
    uri = "data:application/octet-stream;base64," + base64.b64encode(payload).decode()
    link = await session.call_tool(
        "gzip-file-as-resource", {"name": "thoth.bin.gz", "data": uri, "outputType": "resourceLink"}
    )
    read = await session.read_resource("demo://resource/session/thoth.bin.gz")
    assert len(read.contents) == 1 and isinstance(read.contents[0], types.BlobResourceContents), dump(read)
    blob = base64.b64decode(read.contents[0].blob, validate=True)
    dyn = await session.read_resource("demo://resource/dynamic/blob/7")
    assert isinstance(dyn.contents[0], types.BlobResourceContents), dump(dyn)
    dyn_text = base64.b64decode(dyn.contents[0].blob, validate=True).decode()
    return {
        "link": dump(link),
        "uri": str(read.contents[0].uri),
        "mime_type": read.contents[0].mime_type,
        "input_sha256": sha256(payload),
        "blob_bytes": len(blob),
        "blob_sha256": sha256(blob),
        "gunzip_equals_input": gzip.decompress(blob) == payload,
        # The dynamic blob embeds the time of day: normalised away.
        "dynamic_blob": re.sub(r"created at .*$", "created at <time>", dyn_text),
        "dynamic_mime_type": dyn.contents[0].mime_type,
    }


async def big_echo(session: ClientSession) -> dict[str, Any]:
    message = (BIG_UNIT * (BIG_CHARS // len(BIG_UNIT) + 1))[:BIG_CHARS]
    result = await session.call_tool("echo", {"message": message})
    got = texts(result)
    assert len(got) == 1 and got[0].startswith("Echo: "), [g[:40] for g in got]
    back = got[0][len("Echo: "):]
    return {
        "chars": len(message),
        "utf8_bytes": len(message.encode()),
        "sent_sha256": sha256(message.encode()),
        "received_sha256": sha256(back.encode()),
        "intact": back == message,
    }


async def concurrent_calls(session: ClientSession) -> dict[str, Any]:
    results: dict[int, list[str]] = {}

    async def one(i: int) -> None:
        r = await session.call_tool("get-sum", {"a": i, "b": 1000 * i})
        results[i] = texts(r)

    async with anyio.create_task_group() as tg:
        for i in range(CONCURRENT_CALLS):
            tg.start_soon(one, i)
    wrong = [i for i in range(CONCURRENT_CALLS) if results.get(i) != [f"The sum of {i} and {1000 * i} is {1001 * i}."]]
    return {"calls": CONCURRENT_CALLS, "answered": len(results), "wrong": wrong}


async def scenario_filesystem(session: ClientSession, root: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    facts["handshake"] = await handshake(session)
    tools = await session.list_tools()
    facts["tool_names"] = sorted(t.name for t in tools.tools)

    async def attempt(name: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            r = await session.call_tool(name, args)
            return {"ok": {"is_error": bool(r.is_error), "texts": texts(r)}}
        except MCPError as e:
            return {"error": call_error(e)}

    facts["list_directory"] = await attempt("list_directory", {"path": str(root)})
    facts["read_file"] = await attempt("read_file", {"path": str(root / "hello.txt")})
    facts["write_file"] = await attempt(
        "write_file", {"path": str(root / "written.txt"), "content": "should not exist"}
    )
    facts["written_exists"] = (root / "written.txt").exists()
    facts["read_after_write"] = await attempt("read_file", {"path": str(root / "hello.txt")})
    return facts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    Spawned.install()
    cb = Callbacks()
    params = StdioServerParameters(command=args.command[0], args=args.command[1:], env=dict(os.environ))
    started = time.monotonic()
    tree: list[int] = []
    with anyio.fail_after(SCENARIO_TIMEOUT_S):
        async with stdio_client(params) as (read, write):
            kwargs: dict[str, Any] = {}
            if args.scenario == "everything":
                kwargs = {"sampling_callback": cb.sampling_cb, "elicitation_callback": cb.elicitation_cb,
                          "list_roots_callback": cb.roots_cb}
            async with ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S,
                                     client_info=types.Implementation(name="thoth-sdk-client", version="1"),
                                     **kwargs) as session:
                if args.scenario == "everything":
                    facts = await scenario_everything(session, cb)
                else:
                    facts = await scenario_filesystem(session, Path(args.fs_root))
                tree = process_tree(Spawned.process.pid)
        # stdio_client has closed the server's stdin and waited for it (SIGTERM after 2 s, SIGKILL after 2 more).
    proc = Spawned.process
    facts["process"] = {
        "exit_code": proc.returncode,
        "tree_size": len(tree),
        "alive_after_close": [pid for pid in tree if alive(pid)],
    }
    print(f"sdk_client: {args.scenario} scenario took {time.monotonic() - started:.1f}s", file=sys.stderr)
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["everything", "filesystem"], default="everything")
    parser.add_argument("--fs-root", help="the directory server-filesystem serves (filesystem scenario)")
    parser.add_argument("command", nargs="+", help="the server command, after --")
    args = parser.parse_args()
    if args.scenario == "filesystem" and not args.fs_root:
        parser.error("--fs-root is required for the filesystem scenario")
    facts = anyio.run(run, args)
    json.dump(facts, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
