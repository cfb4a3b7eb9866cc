/**
 * `openConnection` and `openUnixConnection`: asyncio's stream clients over
 * Deno's TCP, TLS and Unix sockets.
 *
 * @module
 */
import { fromPromise } from "./from_promise.ts";
import type { EventLoop } from "./loop.ts";
import { SocketTransport } from "./socket_transport.ts";
import { StreamReader } from "./stream_reader.ts";
import { streamLoop, StreamWriter } from "./stream_writer.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";
import { requireDeno } from "./_runtime.ts";

/**
 * TLS options of {@linkcode openConnection}: Deno's client TLS options.
 *
 * @example
 * ```ts ignore
 * import { openConnection, type TlsClientOptions } from "@aio/aio";
 * const tls: TlsClientOptions = { caCerts: [await Deno.readTextFile("ca.pem")], serverName: "localhost" };
 * const [reader, writer] = yield* openConnection("127.0.0.1", 8443, { tls });
 * ```
 *
 * @category I/O
 */
export interface TlsClientOptions {
  /** PEM certificates to trust besides the system's. */
  caCerts?: string[];
  /** The name the server's certificate must carry (and SNI sends); default the host. */
  serverName?: string;
  /** ALPN protocols to offer. */
  alpnProtocols?: string[];
}

/**
 * Options of {@linkcode openConnection}.
 *
 * @example
 * ```ts ignore
 * import { openConnection, type OpenConnectionOptions } from "@aio/aio";
 * const options: OpenConnectionOptions = { tls: true, limit: 1 << 20 };
 * const [reader, writer] = yield* openConnection("example.com", 443, options);
 * ```
 *
 * @category I/O
 */
export interface OpenConnectionOptions {
  /** TLS: `true` for the system's trust store, or Deno's client TLS options. */
  tls?: boolean | TlsClientOptions;
  /** The reader's buffer limit in bytes (longest line); default 65,536. */
  limit?: number;
  /** TCP_NODELAY (Nagle's algorithm off), as asyncio; default true. */
  noDelay?: boolean;
}

/**
 * Options of {@linkcode openUnixConnection}.
 *
 * @example
 * ```ts ignore
 * import { openUnixConnection } from "@aio/aio";
 * const [reader, writer] = yield* openUnixConnection("/tmp/app.sock", { limit: 4096 });
 * ```
 *
 * @category I/O
 */
export interface OpenUnixConnectionOptions {
  /** The reader's buffer limit in bytes (longest line); default 65,536. */
  limit?: number;
}

/**
 * Connects to `host`:`port` over TCP (or TLS with `tls`) and returns the
 * stream's reader and writer (`asyncio.open_connection`). Cancelling it
 * while it connects abandons the attempt and closes whatever it opened.
 * OS errors are Deno's own: `Deno.errors.ConnectionRefused` for a closed
 * port, `NotCapable` without `--allow-net`.
 *
 * @example
 * ```ts ignore
 * import { openConnection, run } from "@aio/aio";
 * await run(function* () {
 *   const [reader, writer] = yield* openConnection("example.com", 80);
 *   writer.write("HEAD / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
 *   for (const next of reader.lines()) {
 *     const line = yield* next;
 *     if (line === null) break;
 *     console.log(new TextDecoder().decode(line).trimEnd());
 *   }
 *   writer.close();
 *   yield* writer.waitClosed();
 * });
 * ```
 *
 * @category I/O
 */
export function* openConnection(
  host: string,
  port: number,
  options: OpenConnectionOptions = {},
): Coroutine<[StreamReader, StreamWriter]> {
  requireDeno("openConnection()");
  const loop = streamLoop("openConnection()");
  checkHostPort("openConnection()", host, port);
  const reader = new StreamReader({ limit: options.limit });
  const tls = options.tls === true ? {} : options.tls || null;
  let conn: Deno.Conn = yield* connecting((signal) =>
    Deno.connect({ hostname: host, port, signal })
  );
  if (options.noDelay !== false) (conn as Deno.TcpConn).setNoDelay(true);
  if (tls !== null) {
    const tcp = conn;
    const tlsConn = yield* connecting(() =>
      Deno.startTls(tcp as Deno.TcpConn, {
        hostname: tls.serverName ?? host,
        caCerts: tls.caCerts,
        alpnProtocols: tls.alpnProtocols,
      }), tcp);
    // Deno handshakes lazily; asyncio's open_connection returns after the
    // handshake, so a certificate error is raised here, not by the first read.
    conn = yield* connecting(() => tlsConn.handshake().then(() => tlsConn), tlsConn);
  }
  return openStreams(loop, conn, reader, tls !== null);
}

/**
 * Connects to the Unix socket at `path` (`asyncio.open_unix_connection`).
 * Needs `--allow-read` and `--allow-write` for the path.
 *
 * @example
 * ```ts ignore
 * import { openUnixConnection, run } from "@aio/aio";
 * await run(function* () {
 *   const [reader, writer] = yield* openUnixConnection("/tmp/app.sock");
 *   writer.write("PING\n");
 *   console.log(new TextDecoder().decode(yield* reader.readline()));
 *   writer.close();
 * });
 * ```
 *
 * @category I/O
 */
export function* openUnixConnection(
  path: string,
  options: OpenUnixConnectionOptions = {},
): Coroutine<[StreamReader, StreamWriter]> {
  requireDeno("openUnixConnection()");
  const loop = streamLoop("openUnixConnection()");
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`openUnixConnection() expects a socket path, got ${describe(path)}`);
  }
  const reader = new StreamReader({ limit: options.limit });
  const conn = yield* connecting(() => Deno.connect({ transport: "unix", path }));
  return openStreams(loop, conn, reader, false);
}

/**
 * @internal Waits for a connection being made. If the wait is cancelled, a
 * connection that arrives (or arrived, the task not having resumed yet) is
 * closed (`also`, an inner connection a TLS upgrade wraps, is closed with it
 * or on failure).
 */
function* connecting<C extends Deno.Conn>(
  start: (signal: AbortSignal) => Promise<C>,
  also?: Deno.Conn,
): Coroutine<C> {
  let promise!: Promise<C>;
  const fut = fromPromise((signal) => (promise = start(signal)));
  promise.then((c) => {
    if (fut.cancelled()) c.close();
  }, () => {});
  try {
    return yield* fut;
  } catch (e) {
    // Cancelled after the connection arrived but before this task resumed.
    if (fut.done() && !fut.cancelled() && fut.exception() === undefined) {
      closeQuietly(fut.result());
    }
    if (also !== undefined) closeQuietly(also);
    throw e;
  }
}

/** @internal A connection made by aio or accepted by its server, as a reader and a writer. */
export function openStreams(
  loop: EventLoop,
  conn: Deno.Conn,
  reader: StreamReader,
  tls: boolean,
): [StreamReader, StreamWriter] {
  const transport = new SocketTransport(loop, conn, reader, tls);
  return [reader, new StreamWriter(transport, reader, loop)];
}

/** @internal */
export function checkHostPort(what: string, host: unknown, port: unknown): void {
  if (typeof host !== "string") {
    throw new TypeError(`${what} expects a host name or address string, got ${describe(host)}`);
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`${what} expects a port number from 0 to 65535, got ${describe(port)}`);
  }
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // Already closed.
  }
}
