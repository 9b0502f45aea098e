"""A TCP relay on 127.0.0.1 that holds every chunk for a while each way: a network's delay.

    python -m bench.relay LISTEN_PORT TARGET_PORT ONE_WAY_MS

The team rows put it between the app and the PostgreSQL server to show what a reviewer
whose database is 10 ms away (a VPN, another site) waits for: each statement is a round
trip. The kernel's own delay (`tc qdisc … netem`) is not in this machine's kernel, and
would delay every loopback packet of everything else running. Order is kept: each
direction is one queue, and a chunk leaves `ONE_WAY_MS` after it arrived.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


async def _carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy `reader` to `writer`, each chunk `delay` seconds after it arrived."""
    held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, data = await held.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    while True:
        data = await reader.read(65536)
        held.put_nowait((time.monotonic() + delay, data))
        if not data:
            break
    await sender


async def _serve(listen: int, target: int, delay: float) -> None:
    async def connected(client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", target)
        for sock in (client_out, server_out):
            sock.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(
            _carry(client_in, server_out, delay),
            _carry(server_in, client_out, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(connected, "127.0.0.1", listen)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


@contextmanager
def delayed(url: str, one_way_ms: float) -> Iterator[str]:
    """`url` (a PostgreSQL URL on 127.0.0.1) reached through a relay; yields the new URL."""
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    target = int(host_port.rsplit(":", 1)[1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = probe.getsockname()[1]
    relay = subprocess.Popen(
        [sys.executable, __file__, str(listen), str(target), str(one_way_ms)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert relay.stdout is not None
        if relay.stdout.readline().strip() != "ready":
            raise RuntimeError("the relay did not start")
        yield url.replace(f"127.0.0.1:{target}/", f"127.0.0.1:{listen}/")
    finally:
        relay.kill()
        relay.wait()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
