"""W9's CPython echo servers: asyncio streams or protocols, on asyncio's own loop or uvloop.

Listens on 127.0.0.1 at PORT (0: a free port) and prints the port as its first
stdout line, then echoes everything on every connection until killed.
- streams: asyncio.start_server, reader.read(65536) / writer.write / await writer.drain()
- protocol: a Protocol whose data_received calls transport.write
Run: python3 bench/echo/server_asyncio.py PORT [--mode streams|protocol] [--uvloop]
"""
import asyncio
import socket
import sys

MODE = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else "streams"
UVLOOP = "--uvloop" in sys.argv


async def echo_stream(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        self.transport.close()


async def main(port):
    loop = asyncio.get_running_loop()
    if MODE == "streams":
        server = await asyncio.start_server(echo_stream, "127.0.0.1", port)
    elif MODE == "protocol":
        server = await loop.create_server(EchoProtocol, "127.0.0.1", port)
    else:
        raise SystemExit(f"unknown --mode {MODE}")
    # asyncio and uvloop both set TCP_NODELAY on accepted TCP sockets; say so explicitly.
    for sock in server.sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    if UVLOOP:
        import uvloop  # ImportError: the driver reports uvloop as not available

        uvloop.install()
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
