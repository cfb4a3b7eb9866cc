/**
 * `startServer` and `startUnixServer`: asyncio's stream servers over Deno's
 * TCP, TLS and Unix listeners, one handler Task per connection.
 *
 * @module
 */
import { CancelledError, RuntimeError } from "./errors.ts";
import { fromPromise } from "./from_promise.ts";
import type { Future } from "./future.ts";
import type { EventLoop, LoopResource } from "./loop.ts";
import { StreamReader } from "./stream_reader.ts";
import { streamLoop, type StreamWriter } from "./stream_writer.ts";
import { checkHostPort, openStreams } from "./streams.ts";
import type { Coroutine, Task } from "./task.ts";
import { describe } from "./util.ts";
import { requireDeno } from "./_runtime.ts";

// ---- The server's state -------------------------------------------------------
//
// A server owns its listener and the set of its connections, each a handler
// task with its writer. The accept loop keeps one `accept()` in flight while
// the server is serving; an accepted connection gets a reader, a writer and a
// handler task at once, in the callback that accepted it.
//
// Invariants:
// - `_serving` is true iff the listener is open (from start until `close()`).
// - `_accepting` is the accept in flight (with its callback), null when none.
//   Deno releases the listening socket (and unlinks a Unix socket's file) only
//   once that accept has settled after `close()`: until then the address is
//   still in use. `waitClosed()` and `_closeForLoop()` wait for it too.
// - A connection is in `_clients` from its accept until its handler task is
//   done and its stream closed; then it removes itself. `waitClosed()` waits
//   until the listener is closed, no accept is in flight and `_clients` is
//   empty.
// - A handler that returns, throws or is cancelled gets its connection closed
//   (after what it wrote is sent); an exception goes to the loop's exception
//   handler. CPython leaves a finished handler's connection open; aio closes
//   it so that nothing outlives the handler.
// - An accept in flight does not hold the virtual clock: a server waiting for
//   clients is idle, as `sleep` waiting for its timer is not.

/**
 * A connection handler: a coroutine function given the connection's reader
 * and writer.
 *
 * @example
 * ```ts ignore
 * import type { ClientConnectedHandler } from "@aio/aio";
 * const echo: ClientConnectedHandler = function* (reader, writer) {
 *   for (const next of reader.lines()) {
 *     const line = yield* next;
 *     if (line === null) break;
 *     writer.write(line);
 *     yield* writer.drain();
 *   }
 * };
 * ```
 *
 * @category I/O
 */
export type ClientConnectedHandler = (
  reader: StreamReader,
  writer: StreamWriter,
) => Coroutine<unknown>;

/**
 * Options of {@linkcode startServer}.
 *
 * @example
 * ```ts ignore
 * import { startServer, type StartServerOptions } from "@aio/aio";
 * const options: StartServerOptions = {
 *   tls: { cert: await Deno.readTextFile("cert.pem"), key: await Deno.readTextFile("key.pem") },
 * };
 * const server = yield* startServer(handler, "127.0.0.1", 8443, options);
 * ```
 *
 * @category I/O
 */
export interface StartServerOptions {
  /** Serve TLS with this PEM certificate chain and key. */
  tls?: { cert: string; key: string };
  /** Each reader's buffer limit in bytes (longest line); default 65,536. */
  limit?: number;
  /**
   * Accepted for asyncio compatibility; Deno's listener uses the system's
   * default backlog.
   */
  backlog?: number;
}

/**
 * Options of {@linkcode startUnixServer}.
 *
 * @example
 * ```ts ignore
 * import { startUnixServer } from "@aio/aio";
 * const server = yield* startUnixServer(handler, "/tmp/app.sock", { limit: 4096 });
 * ```
 *
 * @category I/O
 */
export interface StartUnixServerOptions {
  /** Each reader's buffer limit in bytes (longest line); default 65,536. */
  limit?: number;
}

interface Client {
  task: Task<unknown>;
  writer: StreamWriter;
}

/**
 * A listening server (asyncio's `Server`), returned by
 * {@linkcode startServer} and {@linkcode startUnixServer}. It accepts from
 * the start; `serveForever()` is how a main task waits on it.
 *
 * @example
 * ```ts ignore
 * import { run, startServer } from "@aio/aio";
 * await run(function* () {
 *   const server = yield* startServer(function* (reader, writer) {
 *     writer.write(yield* reader.readline());
 *   }, "127.0.0.1", 0);
 *   console.log(server.addrs); // [{ transport: "tcp", hostname: "127.0.0.1", port: … }]
 *   yield* server.serveForever(); // until cancelled (Ctrl-C)
 * });
 * ```
 *
 * @category I/O
 */
export class Server implements LoopResource, AsyncDisposable {
  /** @ignore */
  _loop: EventLoop;
  /** @ignore */
  _listener: Deno.Listener;
  /** @ignore */
  _handler: ClientConnectedHandler;
  /** @ignore */
  _limit: number | undefined;
  /** @ignore */
  _tls: boolean;
  /** @ignore */
  _serving = true;
  /** @ignore The accept in flight, settled once its callback has run; null when none. */
  _accepting: Promise<void> | null = null;
  /** @ignore */
  _clients: Set<Client> = new Set();
  /** @ignore `waitClosed()`: settled when the listener is closed and every connection is done. */
  _closedWaiters: Future<void>[] = [];
  /** @ignore `serveForever()`: settled at `close()`. */
  _serveWaiters: Future<void>[] = [];

  /** @ignore Made by `startServer` and `startUnixServer`. */
  constructor(
    loop: EventLoop,
    listener: Deno.Listener,
    handler: ClientConnectedHandler,
    limit: number | undefined,
    tls: boolean,
  ) {
    this._loop = loop;
    this._listener = listener;
    this._handler = handler;
    this._limit = limit;
    this._tls = tls;
    loop._resources.add(this);
    this._accept();
  }

  /**
   * The addresses the server listens on (Deno address objects, as
   * `writer.getExtraInfo("sockname")` gives); `port` is the real one when
   * you asked for 0.
   *
   * @example
   * ```ts ignore
   * const server = yield* startServer(handler, "127.0.0.1", 0);
   * const { port } = server.addrs[0] as Deno.NetAddr;
   * ```
   */
  get addrs(): Deno.Addr[] {
    return [this._listener.addr];
  }

  /**
   * Whether the server accepts connections (until `close()`).
   *
   * @example
   * ```ts ignore
   * server.close();
   * console.log(server.isServing()); // false
   * ```
   */
  isServing(): boolean {
    return this._serving;
  }

  /**
   * Waits until the server is closed; cancelling it (Ctrl-C, a task group
   * failing) closes the server and its connections (`Server.serve_forever`).
   * A `close()` from elsewhere ends it with `CancelledError`, as in asyncio;
   * on a server already closed it is a `RuntimeError`.
   *
   * @example
   * ```ts ignore
   * const server = yield* startServer(handler, "127.0.0.1", 8888);
   * yield* server.serveForever();
   * ```
   */
  *serveForever(): Coroutine<never> {
    if (!this._serving) throw new RuntimeError(`serveForever(): server ${this} is closed`);
    const waiter = this._loop.createFuture<void>();
    this._serveWaiters.push(waiter);
    try {
      yield* waiter;
    } catch (e) {
      if (e instanceof CancelledError) {
        this.close();
        this.abortClients();
        yield* this.waitClosed();
      }
      throw e;
    }
    // As CPython: close() from elsewhere ends serve_forever with CancelledError.
    throw new CancelledError("the server was closed");
  }

  /**
   * Stops accepting connections and closes the listener; connections already
   * accepted go on (`Server.close`). The address (a Unix socket's file too)
   * is free once `waitClosed()` returns. Idempotent.
   *
   * @example
   * ```ts ignore
   * server.close();
   * yield* server.waitClosed(); // the handlers still running finish first
   * ```
   */
  close(): void {
    if (!this._serving) return;
    this._serving = false;
    try {
      this._listener.close();
    } catch {
      // Already closed.
    }
    const serving = this._serveWaiters;
    this._serveWaiters = [];
    for (const w of serving) if (!w.done()) w.setResult(undefined);
    this._checkClosed();
  }

  /**
   * Closes every client connection (their handlers' reads see EOF, writes
   * fail); the handler tasks go on until they notice.
   *
   * @example
   * ```ts ignore
   * server.close();
   * server.closeClients();
   * yield* server.waitClosed();
   * ```
   */
  closeClients(): void {
    for (const c of [...this._clients]) c.writer.close();
  }

  /**
   * Cancels every handler task and closes its connection at once.
   *
   * @example
   * ```ts ignore
   * server.close();
   * server.abortClients();
   * yield* server.waitClosed();
   * ```
   */
  abortClients(): void {
    for (const c of [...this._clients]) {
      c.task.cancel("the server aborted its clients");
      c.writer._abort();
    }
  }

  /**
   * Waits until the listener is closed (its address free for a new server)
   * and every handler task is done.
   *
   * @example
   * ```ts ignore
   * server.close();
   * yield* server.waitClosed();
   * ```
   */
  *waitClosed(): Coroutine<void> {
    if (!this._serving && this._accepting === null && this._clients.size === 0) return;
    const waiter = this._loop.createFuture<void>();
    this._closedWaiters.push(waiter);
    yield* waiter;
  }

  /**
   * `await using server = …` in async code: `close()`, `abortClients()`,
   * and resolves once every connection is closed.
   *
   * @example
   * ```ts ignore
   * await using server = await loop.runUntilComplete(startServer(handler, "127.0.0.1", 0));
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve(this._closeForLoop());
  }

  /**
   * `<Server …>` with the address and the number of connections.
   *
   * @example
   * ```ts ignore
   * console.log(String(server)); // "<Server tcp 127.0.0.1:8888 serving clients=2>"
   * ```
   */
  toString(): string {
    const a = this._listener.addr;
    const where = a.transport === "unix" || a.transport === "unixpacket"
      ? `unix ${(a as Deno.UnixAddr).path}`
      : `${a.transport} ${(a as Deno.NetAddr).hostname}:${(a as Deno.NetAddr).port}`;
    return `<Server ${where}${this._serving ? " serving" : ""} clients=${this._clients.size}>`;
  }

  // ---- internals ------------------------------------------------------------------

  /** @ignore `run()` is ending: no new connections (see LoopResource). */
  _stopAccepting(): void {
    this.close();
  }

  /** @ignore Closes everything and resolves when every connection is closed. */
  _closeForLoop(): Promise<void> {
    this.close();
    this.abortClients();
    this._loop._resources.delete(this);
    return this._accepting ?? Promise.resolve();
  }

  /** @ignore One accept in flight while serving. */
  _accept(): void {
    this._accepting = this._listener.accept().then(this._onAccept, this._onAcceptError);
  }

  /** @ignore */
  _onAccept = (conn: Deno.Conn): void => {
    this._accepting = null;
    const loop = this._loop;
    if (!this._serving || loop.isClosed()) {
      conn.close();
      if (!loop.isClosed()) this._checkClosed();
      return;
    }
    if (!this._tls && this._listener.addr.transport === "tcp") {
      (conn as Deno.TcpConn).setNoDelay(true);
    }
    this._accept();
    const [reader, writer] = openStreams(
      loop,
      conn,
      new StreamReader({ limit: this._limit }),
      this._tls,
    );
    let task: Task<unknown>;
    try {
      const coro = this._handler(reader, writer);
      task = loop.createTask(this._tls ? handshakeFirst(conn as Deno.TlsConn, writer, coro) : coro);
    } catch (e) {
      writer._abort();
      loop.callExceptionHandler({ message: "a server's connection handler failed", exception: e });
      return;
    }
    const client: Client = { task, writer };
    this._clients.add(client);
    task.addDoneCallback(() => this._onHandlerDone(client));
  };

  /** @ignore */
  _onAcceptError = (e: unknown): void => {
    this._accepting = null;
    if (!this._serving) {
      // Closed under the accept: now the listener is really gone.
      if (!this._loop.isClosed()) this._checkClosed();
      return;
    }
    if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) {
      this.close();
      return;
    }
    // EMFILE and the like: say so and keep serving.
    this._loop.callExceptionHandler({
      message: "a server failed to accept a connection",
      exception: e,
    });
    this._accept();
  };

  /** @ignore The handler is done: its connection closes once what it wrote is sent. */
  _onHandlerDone(client: Client): void {
    const { task, writer } = client;
    if (!task.cancelled() && task.exception() !== undefined) {
      this._loop.callExceptionHandler({
        message: "a server's connection handler failed",
        exception: task.exception(),
        task,
      });
    }
    // Failed, returned or cancelled: what it wrote is sent, then the
    // connection closes (asyncio's transport.close() in both cases).
    writer.close();
    if (writer._closed.done()) this._forget(client);
    else writer._closed.addDoneCallback(() => this._forget(client));
  }

  /** @ignore */
  _forget(client: Client): void {
    this._clients.delete(client);
    this._checkClosed();
  }

  /** @ignore Wakes `waitClosed()` and `serveForever()` once all is closed. */
  _checkClosed(): void {
    if (this._serving || this._accepting !== null) return;
    if (this._clients.size > 0) return;
    this._loop._resources.delete(this);
    const waiters = this._closedWaiters;
    this._closedWaiters = [];
    for (const w of waiters) if (!w.done()) w.setResult(undefined);
  }
}

/**
 * Starts a TCP (or TLS, with `tls: { cert, key }`) server on `host`:`port`
 * and returns it listening (`asyncio.start_server`); port 0 picks a free
 * port (`server.addrs`). Each connection runs `handler(reader, writer)` as
 * its own Task; a handler's exception goes to the loop's exception handler
 * and closes that connection only. Needs `--allow-net`.
 *
 * @example
 * ```ts ignore
 * import { run, startServer } from "@aio/aio";
 * await run(function* () {
 *   const server = yield* startServer(function* echo(reader, writer) {
 *     for (const next of reader.lines()) {
 *       const line = yield* next;
 *       if (line === null) break;
 *       writer.write(line);
 *       yield* writer.drain();
 *     }
 *   }, "127.0.0.1", 8888);
 *   yield* server.serveForever();
 * });
 * ```
 *
 * @category I/O
 */
export function* startServer(
  handler: ClientConnectedHandler,
  host: string,
  port: number,
  options: StartServerOptions = {},
): Coroutine<Server> {
  requireDeno("startServer()");
  const loop = streamLoop("startServer()");
  checkHandler("startServer()", handler);
  checkHostPort("startServer()", host, port);
  new StreamReader({ limit: options.limit }); // checks limit now, not at the first client
  const tls = options.tls;
  const listener: Deno.Listener = tls === undefined
    ? Deno.listen({ hostname: host, port })
    : Deno.listenTls({ hostname: host, port, cert: tls.cert, key: tls.key });
  return new Server(loop, listener, handler, options.limit, tls !== undefined);
}

/**
 * Starts a server on the Unix socket `path` (`asyncio.start_unix_server`).
 * Needs `--allow-read` and `--allow-write` for the path.
 *
 * @example
 * ```ts ignore
 * import { run, startUnixServer } from "@aio/aio";
 * await run(function* () {
 *   const server = yield* startUnixServer(function* (reader, writer) {
 *     writer.write("hello\n");
 *   }, "/tmp/app.sock");
 *   yield* server.serveForever();
 * });
 * ```
 *
 * @category I/O
 */
export function* startUnixServer(
  handler: ClientConnectedHandler,
  path: string,
  options: StartUnixServerOptions = {},
): Coroutine<Server> {
  requireDeno("startUnixServer()");
  const loop = streamLoop("startUnixServer()");
  checkHandler("startUnixServer()", handler);
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`startUnixServer() expects a socket path, got ${describe(path)}`);
  }
  new StreamReader({ limit: options.limit });
  const listener = Deno.listen({ transport: "unix", path });
  return new Server(loop, listener, handler, options.limit, false);
}

/**
 * @internal A TLS connection's handler task: the handshake, then the
 * handler. A client that fails the handshake (an untrusted certificate, not
 * TLS at all) reaches no handler and is not reported, as in asyncio; Deno
 * would otherwise hand the handler a stream whose first read fails.
 */
function* handshakeFirst(
  conn: Deno.TlsConn,
  writer: StreamWriter,
  handler: Coroutine<unknown>,
): Coroutine<unknown> {
  try {
    yield* fromPromise(conn.handshake());
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    writer._abort();
    return undefined;
  }
  return yield* handler;
}

function checkHandler(what: string, handler: unknown): void {
  if (typeof handler !== "function") {
    throw new TypeError(`${what} expects a handler function, got ${describe(handler)}`);
  }
}
