"""A fast OpenAI-compatible loopback server for pull benchmarks, run in its own process.

    python bench/fast_server.py PORT_FILE

asyncio streams, HTTP/1.1 keep-alive, one canned Chat Completions answer with logprobs:
fast enough that a client, not the server, is what gets measured. Listens on 127.0.0.1
only and writes its port to PORT_FILE when ready.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ANSWER = json.dumps({
    "id": "chatcmpl-1", "model": "m", "object": "chat.completion",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Reply to: hi"},
                 "logprobs": {"content": [{"token": "x", "logprob": -0.05}] * 4}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 4},
}).encode()  # fmt: skip
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(ANSWER)).encode()
    + b"\r\n\r\n"
    + ANSWER
)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer every request on the connection until the client closes it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        pass
    finally:
        writer.close()


async def main(port_file: Path) -> None:
    """Serve until killed."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    port_file.write_text(str(port))  # noqa: ASYNC240 - once, before serving
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
