// W9's native Deno echo server: Deno.listen, and per connection a loop of
// conn.read into a 64 KiB buffer and conn.write of what came (TCP_NODELAY on).
// Listens on 127.0.0.1 at PORT (0: a free port), prints the port as its first
// stdout line, and echoes until killed.
// Run: deno run -A bench/echo/server_deno.ts PORT

async function echo(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      // conn.write may write less than asked.
      for (let off = 0; off < n;) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0] ?? 0) });
console.log(listener.addr.port);
for await (const conn of listener) echo(conn);
