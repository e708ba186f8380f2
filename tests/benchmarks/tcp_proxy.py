"""A TCP proxy that `make soak` controls, to cut the database off and bring it back.

    python -m tests.benchmarks.tcp_proxy --listen 127.0.0.1:PORT --target 127.0.0.1:5432

SIGUSR1 cuts: every open connection is reset and new ones are refused (the listening
socket closes), as when the database host goes away. SIGUSR2 restores: it listens again on
the same port. SIGTERM stops it. It prints one line, `listening HOST:PORT`, when ready.
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

_CHUNK = 65536


class Proxy:
    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.listen = listen
        self.target = target
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()
        self.stopped = asyncio.Event()

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._accept, self.listen[0], self.listen[1], reuse_address=True
        )

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self.links.update((client_w, server_w))
        try:
            await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w))
        finally:
            for writer in (client_w, server_w):
                self.links.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(_CHUNK):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.links):
            writer.transport.abort()  # RST: the peer sees the connection break at once
        self.links.clear()
        print("cut", flush=True)

    async def restore(self) -> None:
        if self.server is None:
            await self.start()
        print("restored", flush=True)


async def main(listen: tuple[str, int], target: tuple[str, int]) -> None:
    proxy = Proxy(listen, target)
    await proxy.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, proxy.cut)
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(proxy.restore()))
    loop.add_signal_handler(signal.SIGTERM, proxy.stopped.set)
    print(f"listening {listen[0]}:{listen[1]}", flush=True)
    await proxy.stopped.wait()
    proxy.cut()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise argparse.ArgumentTypeError("loopback addresses only")
    return host, int(port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=_address, required=True)
    parser.add_argument("--target", type=_address, required=True)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.listen, arguments.target))
    sys.exit(0)
