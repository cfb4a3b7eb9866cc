// W9's native Deno echo server: Deno.listen, and per connection a loop of
// conn.read into a 64 KiB buffer and conn.write of what came (TCP_NODELAY on).
// With --owned, each read's bytes become an array of their own before they are
// written, as a read() that returns bytes the caller keeps must (asyncio's and
// aio's streams): a copy for a small read, and for a large one (32 KiB or
// more) the array itself, the next read going into a fresh one. That is the
// floor under any stream layer with that contract, and what aio's streams are
// measured against besides the plain loop.
// Listens on 127.0.0.1 at PORT (0: a free port), prints the port as its first
// stdout line, and echoes until killed.
// Run: deno run -A bench/echo/server_deno.ts PORT [--owned]

const OWNED = Deno.args.includes("--owned");
const READ_SIZE = 65_536;
const FRESH_MIN = 32_768;

async function echo(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  let buf = new Uint8Array(READ_SIZE);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      let out = buf.subarray(0, n);
      if (OWNED) {
        if (n >= FRESH_MIN) buf = new Uint8Array(READ_SIZE);
        else out = out.slice();
      }
      // conn.write may write less than asked.
      for (let off = 0; off < n;) off += await conn.write(out.subarray(off));
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
