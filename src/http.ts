/**
 * `serve`: HTTP on Deno's own server (`Deno.serve`), one handler Task per
 * request on the loop that called `serve`.
 *
 * @module
 */
import { type Context, copyContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import { fromPromise } from "./from_promise.ts";
import { Future } from "./future.ts";
import type { EventLoop, LoopResource } from "./loop.ts";
import { getRunningLoop } from "./running.ts";
import type { Coroutine, Task } from "./task.ts";
import { describe, isCoroutine } from "./util.ts";
import { requireDeno } from "./_runtime.ts";

// ---- How a request becomes a task ---------------------------------------------
//
// Deno calls the server's callback on its own event loop, outside any aio
// iteration. The callback creates the handler task with `loop.createTask`
// (which pushes the task's id on the ready ring and so wakes an idle loop,
// as a promise settling a `fromPromise` future does) and returns Deno a
// promise that only the task's done callback settles. One `Exchange` holds
// each request's side of that: the request, the task, the promise's resolve.
//
// Invariants:
// - An exchange is in `_pending` from its task's creation until it is
//   answered: by the task's done callback (the handler's Response; 500 when it
//   threw or returned something else; 503 when it was cancelled), or at once
//   with 503 when the loop ends (`_closeForLoop`: a task left then never runs).
//   Deno's promise is settled exactly once, always with a Response, so Deno's
//   `onError` never sees a handler's exception: the loop's exception handler does.
// - The client going away (`req.signal` aborting) cancels the task. The signal
//   is watched only from the handler's first suspension: a handler that answers
//   in one step cannot be interrupted anyway, and Deno makes each request's
//   signal lazily (an AbortController and an op per request, about a quarter of
//   a trivial server's throughput) and, until `--unstable-no-legacy-abort`
//   becomes its default, warns once per process when a request whose signal was
//   read is answered.
// - The server holds no "outside completion" on the loop (`_beginExternal`):
//   a listener waiting for requests is idle, like a socket server's accept, so
//   the virtual clock jumps while it is open. A request adds none either: it
//   is a task on the loop, and what its handler waits on outside (a body read,
//   a `fetch`, through `fromPromise`) is counted by that wait. So is the last
//   phase of `shutdown()`, when Deno sends the final responses.
// - The server is in the loop's `_resources` from `serve()` until it is
//   finished: Deno's server has stopped and `_pending` is empty. Then
//   `finished` is resolved.

/**
 * A request handler for {@linkcode serve}: a coroutine function given the
 * request and Deno's connection info, evaluating to the `Response`.
 *
 * @example
 * ```ts
 * import { type HttpHandler, sleep } from "@aio/aio";
 * const hello: HttpHandler = function* (req, info) {
 *   yield* sleep(10);
 *   return new Response(`hello ${info.remoteAddr.hostname}, you asked for ${req.url}`);
 * };
 * ```
 *
 * @category I/O
 */
export type HttpHandler<Addr extends Deno.Addr = Deno.NetAddr> = (
  request: Request,
  info: Deno.ServeHandlerInfo<Addr>,
) => Coroutine<Response>;

/**
 * Options of {@linkcode serve} over TCP: Deno's `ServeTcpOptions` (`port`,
 * `hostname`, `signal`, `onListen`, `reusePort`, `tcpBacklog`,
 * `automaticCompression`), with `cert` and `key` (PEM) for HTTPS. Deno's
 * defaults hold: port 8000 on `0.0.0.0`; port 0 picks a free port. There is
 * no `onError`: a handler's exception goes to the loop's exception handler.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from "@aio/aio";
 * const local: ServeOptions = { hostname: "127.0.0.1", port: 0 };
 * ```
 *
 * @category I/O
 */
export type ServeOptions =
  & Omit<Deno.ServeTcpOptions, "onError">
  & Partial<Deno.TlsCertifiedKeyPem>;

/**
 * Options of {@linkcode serve} over a Unix socket: Deno's `ServeUnixOptions`
 * (`path`, `signal`, `onListen`, `automaticCompression`). Needs
 * `--allow-read` and `--allow-write` for the path.
 *
 * @example
 * ```ts
 * import type { ServeUnixOptions } from "@aio/aio";
 * const options: ServeUnixOptions = { path: "/tmp/app.sock" };
 * ```
 *
 * @category I/O
 */
export type ServeUnixOptions = Omit<Deno.ServeUnixOptions, "onError">;

const CLIENT_GONE = "the HTTP client went away";

/** Deno's own words for its 500, as plain text: nothing of the error leaks. */
function internalServerError(): Response {
  return new Response("Internal Server Error", { status: 500 });
}

/** The answer to a request whose handler was cancelled or never ran. */
function serviceUnavailable(): Response {
  return new Response("Service Unavailable", { status: 503 });
}

function requestLine(req: Request): string {
  try {
    return `${req.method} ${req.url}`;
  } catch {
    return "(request closed)";
  }
}

/** One request in flight: see the invariants above. */
class Exchange {
  req: Request;
  info: Deno.ServeHandlerInfo<Deno.Addr>;
  task: Task<unknown> | null = null;
  resolve: ((res: Response) => void) | null = null;
  answered = false;
  /** The request's signal, once watched. */
  signal: AbortSignal | null = null;

  constructor(req: Request, info: Deno.ServeHandlerInfo<Deno.Addr>) {
    this.req = req;
    this.info = info;
  }

  /** From the handler's first suspension on, the client going away cancels the task. */
  watch(): void {
    const signal = this.req.signal;
    this.signal = signal;
    if (signal.aborted) this.task!.cancel(CLIENT_GONE);
    else signal.addEventListener("abort", this);
  }

  /** The abort listener (an object listener: no closure per request). */
  handleEvent(): void {
    this.task!.cancel(CLIENT_GONE);
  }

  answer(res: Response): void {
    if (this.answered) return;
    this.answered = true;
    if (this.signal !== null) {
      this.signal.removeEventListener("abort", this);
      this.signal = null;
    }
    this.resolve!(res);
  }
}

/**
 * The coroutine of a request's task: calls the handler (inside the task, so
 * that whatever it throws fails the task), runs its first step, and watches
 * the client only if the handler suspends.
 */
function* handle(handler: HttpHandler<Deno.Addr>, ex: Exchange): Coroutine<unknown> {
  const coro: unknown = handler(ex.req, ex.info);
  if (!isCoroutine(coro)) {
    throw new TypeError(
      `an HTTP handler must be a coroutine function (function*) evaluating to a Response; ${
        describe(handler)
      } returned ${describe(coro)}`,
    );
  }
  const gen = coro as Coroutine<unknown>;
  let r = gen.next();
  if (r.done) return r.value;
  ex.watch();
  // `yield*` by hand from the second step on (tasks use next and throw only).
  while (!r.done) {
    let sent: unknown;
    try {
      sent = yield r.value;
    } catch (e) {
      r = gen.throw(e);
      continue;
    }
    r = gen.next(sent);
  }
  return r.value;
}

/**
 * A running HTTP server, returned by {@linkcode serve}: Deno's server with
 * each request's handler a Task on the loop. `shutdown()` stops accepting
 * and waits for the handlers in flight; `run()` ending shuts it down.
 *
 * @example
 * ```ts
 * import { fromPromise, run, serve } from "@aio/aio";
 * await run(function* () {
 *   const server = yield* serve(function* () {
 *     return new Response("hi");
 *   }, { hostname: "127.0.0.1", port: 0 });
 *   const res = yield* fromPromise(fetch(`http://127.0.0.1:${server.addr.port}/`));
 *   console.log(yield* fromPromise(res.text())); // "hi"
 *   yield* server.shutdown();
 * });
 * ```
 *
 * @category I/O
 */
export class HttpServer<Addr extends Deno.Addr = Deno.NetAddr>
  implements LoopResource, AsyncDisposable {
  /**
   * The address the server listens on; `port` is the real one when 0 was
   * asked for.
   *
   * @example
   * ```ts
   * import { run, serve } from "@aio/aio";
   * await run(function* () {
   *   const server = yield* serve(function* () {
   *     return new Response("hi");
   *   }, { hostname: "127.0.0.1", port: 0 });
   *   console.log(server.addr.port > 0); // true
   *   yield* server.shutdown();
   * });
   * ```
   */
  readonly addr: Addr;
  /**
   * Resolved once the server has stopped (by `shutdown()`, its `signal`
   * option, or the loop ending) and every handler task is done. A future
   * of the loop: `yield* server.finished` in a task, `await` outside.
   *
   * @example
   * ```ts
   * import { createTask, run, serve } from "@aio/aio";
   * await run(function* () {
   *   const server = yield* serve(function* () {
   *     return new Response("hi");
   *   }, { hostname: "127.0.0.1", port: 0 });
   *   createTask(server.shutdown());
   *   yield* server.finished;
   *   console.log("stopped");
   * });
   * ```
   */
  readonly finished: Future<void>;

  /** @ignore */
  _loop: EventLoop;
  /** @ignore */
  _deno: Deno.HttpServer<Addr>;
  /** @ignore */
  _handler: HttpHandler<Deno.Addr>;
  /** @ignore Each request's task runs in a copy of the context `serve()` was called in. */
  _context: Context;
  /** @ignore The requests not answered yet, by task. */
  _pending: Map<Task<unknown>, Exchange> = new Map();
  /** @ignore Deno's graceful shutdown, once asked for; it never rejects. */
  _closing: Promise<void> | null = null;
  /** @ignore The loop ended: answer every request 503, start no task. */
  _loopEnding = false;
  /** @ignore Deno's server has stopped. */
  _denoDone = false;
  /** @ignore Settled after `_denoDone` is set; never rejects. */
  _stopped: Promise<void>;
  /** @ignore `shutdown()` waiting for `_pending` to empty. */
  _idleWaiters: Future<void>[] = [];

  /** @ignore Made by `serve`. */
  constructor(
    loop: EventLoop,
    handler: HttpHandler<Deno.Addr>,
    options: ServeOptions | ServeUnixOptions,
  ) {
    this._loop = loop;
    this._handler = handler;
    this._context = copyContext();
    this.finished = loop.createFuture<void>();
    // onListen is Deno's print by default; aio prints nothing (the caller
    // has `addr` when serve() returns) and calls the caller's own afterwards.
    // onError sees only what Deno itself refuses in a handler's Response
    // (`Response.error()`, a used body): the handler's own errors never
    // reach Deno.
    const denoOptions = {
      ...options,
      onListen: noop,
      onError: (e: unknown) => {
        this._report("Deno.serve could not send an HTTP handler's Response", e);
        return internalServerError();
      },
    } as Deno.ServeTcpOptions;
    this._deno = Deno.serve(denoOptions, this._onRequest) as unknown as Deno.HttpServer<Addr>;
    this.addr = this._deno.addr;
    loop._resources.add(this);
    this._stopped = this._deno.finished.then(() => this._denoStopped(), (e) => {
      this._report("the HTTP server stopped with an error", e);
      this._denoStopped();
    });
  }

  /**
   * Stops accepting requests, waits for the handlers in flight to finish and
   * for Deno to send their responses, and returns once the server is
   * finished. Calling it again waits for the same end. Called from one of
   * the server's own handlers it would wait for itself: that is a
   * `RuntimeError` (run it as its own task: `createTask(server.shutdown())`).
   *
   * @example
   * ```ts
   * import { Event, fromPromise, run, serve, sleep } from "@aio/aio";
   * await run(function* () {
   *   const started = new Event();
   *   const server = yield* serve(function* () {
   *     started.set();
   *     yield* sleep(50);
   *     return new Response("done");
   *   }, { hostname: "127.0.0.1", port: 0 });
   *   const res = fromPromise(fetch(`http://127.0.0.1:${server.addr.port}/`));
   *   yield* started.wait(); // the request is in flight
   *   yield* server.shutdown(); // waits for its handler
   *   console.log(yield* fromPromise((yield* res).text())); // "done"
   * });
   * ```
   */
  *shutdown(): Coroutine<void> {
    const me = this._loop._currentTask;
    if (me !== null && this._pending.has(me)) {
      throw new RuntimeError(
        "shutdown() called from one of the server's own handlers would wait for itself; " +
          "start it as a task instead: createTask(server.shutdown())",
      );
    }
    this._beginShutdown();
    while (!this.finished.done()) {
      if (this._pending.size > 0) {
        // The handlers run on this loop: waiting for them is no outside wait,
        // so the virtual clock still jumps for their sleeps.
        const idle = this._loop.createFuture<void>();
        this._idleWaiters.push(idle);
        yield* idle;
      } else {
        // Deno sends the last responses and closes: that is outside.
        // (`_stopped` resolves `finished` if no handler is left.)
        yield* fromPromise(Promise.all([this._closing!, this._stopped]));
      }
    }
  }

  /**
   * `await using server = …` in async code: shuts down and resolves once the
   * server is finished (the loop must run for the handlers in flight).
   *
   * @example
   * ```ts
   * import { EventLoop, serve } from "@aio/aio";
   * const loop = new EventLoop();
   * {
   *   await using server = await loop.runUntilComplete(serve(function* () {
   *     return new Response("hi");
   *   }, { hostname: "127.0.0.1", port: 0 }));
   *   console.log(server.addr.port > 0); // true
   * }
   * loop.close();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this._beginShutdown();
    return Promise.resolve(this.finished);
  }

  /**
   * `<HttpServer …>` with the address, the state and the requests in flight.
   *
   * @example
   * ```ts
   * import { run, serve } from "@aio/aio";
   * await run(function* () {
   *   const server = yield* serve(function* () {
   *     return new Response("hi");
   *   }, { hostname: "127.0.0.1", port: 0 });
   *   console.log(String(server)); // "<HttpServer http://127.0.0.1:…/ serving requests=0>"
   *   yield* server.shutdown();
   * });
   * ```
   */
  toString(): string {
    const a = this.addr as Deno.Addr;
    const where = a.transport === "unix" || a.transport === "unixpacket"
      ? `unix:${a.path}`
      : a.transport === "tcp" || a.transport === "udp"
      ? `http://${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}/`
      : a.transport;
    const state = this.finished.done()
      ? "finished"
      : this._closing === null
      ? "serving"
      : "closing";
    return `<HttpServer ${where} ${state} requests=${this._pending.size}>`;
  }

  // ---- internals ------------------------------------------------------------------

  /** @ignore Deno's callback for each request (two parameters: Deno passes none to fewer). */
  _onRequest = (
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.Addr>,
  ): Promise<Response> | Response => {
    const loop = this._loop;
    if (this._loopEnding || loop.isClosed()) return serviceUnavailable();
    const ex = new Exchange(req, info);
    let task: Task<unknown>;
    try {
      task = loop.createTask(handle(this._handler, ex), { context: this._context.copy() });
    } catch (e) {
      this._report(`could not start an HTTP handler task: ${requestLine(req)}`, e);
      return internalServerError();
    }
    ex.task = task;
    this._pending.set(task, ex);
    task.addDoneCallback(this._onHandlerDone);
    return new Promise<Response>((resolve) => {
      ex.resolve = resolve;
    });
  };

  /** @ignore */
  _onHandlerDone = (task: Task<unknown>): void => {
    const ex = this._pending.get(task);
    if (ex === undefined) return; // answered when the loop ended
    this._pending.delete(task);
    ex.answer(this._response(task, ex));
    if (this._pending.size === 0) {
      const waiters = this._idleWaiters;
      this._idleWaiters = [];
      for (const w of waiters) if (!w.done()) w.setResult(undefined);
      this._checkFinished();
    }
  };

  /** @ignore What the finished task answers. */
  _response(task: Task<unknown>, ex: Exchange): Response {
    if (task.cancelled()) return serviceUnavailable();
    const e = task.exception();
    if (e !== undefined) {
      this._report(`an HTTP handler failed: ${requestLine(ex.req)}`, e, task);
      return internalServerError();
    }
    const value = task.result();
    if (value instanceof Response) return value;
    this._report(
      `an HTTP handler returned no Response: ${requestLine(ex.req)}`,
      new TypeError(`an HTTP handler must evaluate to a Response, got ${notAResponse(value)}`),
      task,
    );
    return internalServerError();
  }

  /** @ignore Starts Deno's graceful shutdown once: no new connections. */
  _beginShutdown(): Promise<void> {
    if (this._closing === null) {
      this._closing = this._deno.shutdown().catch((e) => {
        this._report("the HTTP server failed to shut down", e);
      });
    }
    return this._closing;
  }

  /** @ignore */
  _denoStopped(): void {
    this._denoDone = true;
    if (this._pending.size === 0) this._checkFinished();
  }

  /** @ignore Finished: out of the loop's resources, `finished` resolved. */
  _checkFinished(): void {
    if (!this._denoDone || this._pending.size > 0 || this.finished.done()) return;
    this._loop._resources.delete(this);
    this.finished.setResult(undefined);
  }

  /**
   * @ignore The loop is ending (`run()` returning, `close()`): handler
   * tasks can no longer run. `run()` has cancelled and awaited them already;
   * one still here started too late and is answered 503 now. Resolves when
   * Deno's server has stopped; never rejects (close() does not wait).
   */
  _stopAccepting(): void {
    void this._beginShutdown();
  }

  /** @ignore */
  _closeForLoop(): Promise<void> {
    this._loopEnding = true;
    for (const ex of this._pending.values()) ex.answer(serviceUnavailable());
    this._pending.clear();
    return Promise.all([this._beginShutdown(), this._stopped]).then(() => this._checkFinished());
  }

  /** @ignore */
  _report(message: string, exception: unknown, task?: Task<unknown>): void {
    const context: { message: string; exception: unknown; task?: Task<unknown> } = {
      message,
      exception,
    };
    if (task !== undefined) context.task = task;
    this._loop.callExceptionHandler(context);
  }
}

function noop(): void {}

function notAResponse(value: unknown): string {
  if (value instanceof Future) return `${value}: return yield* it, not it`;
  if (value instanceof Promise) return "a Promise: return yield* fromPromise(it)";
  return describe(value);
}

/**
 * Serves HTTP with Deno's server (`Deno.serve`) and returns it listening;
 * port 0 picks a free port (`server.addr`). Each request runs
 * `handler(request, info)` as its own Task on the calling task's loop, in a
 * copy of the calling task's context; the task's result is the response.
 *
 * - The client going away (`request.signal` aborting) cancels the task, so
 *   its `finally` blocks run (watched from the handler's first suspension).
 * - A handler that throws, or evaluates to anything but a `Response`, is
 *   answered 500 "Internal Server Error" (plain text, nothing of the error)
 *   and the error goes to the loop's exception handler with the task.
 * - `run()` ending shuts the server down after cancelling the handlers.
 * - The open server does not hold the virtual clock: a test can serve and
 *   sleep an hour at once. A handler's outside waits (`fromPromise` of a body
 *   read or a `fetch`) hold it as always; so a client on the same loop that
 *   awaits a handler which sleeps needs the real clock.
 *
 * Read a body with `yield* fromPromise(request.text())` (or `.json()`,
 * `.arrayBuffer()`). Over TCP it needs `--allow-net`; without it, Deno's
 * `NotCapable` error is thrown here. A handler that is not a function (or is
 * an `async function`) is a `TypeError`; so is an `onError` option.
 *
 * @example
 * ```ts
 * import { fromPromise, run, serve, sleep } from "@aio/aio";
 * await run(function* () {
 *   const server = yield* serve(function* (req) {
 *     yield* sleep(10);
 *     return new Response(`hello from ${new URL(req.url).pathname}`);
 *   }, { hostname: "127.0.0.1", port: 0 });
 *   const res = yield* fromPromise(fetch(`http://127.0.0.1:${server.addr.port}/aio`));
 *   console.log(yield* fromPromise(res.text())); // "hello from /aio"
 *   yield* server.shutdown();
 * });
 * ```
 *
 * @category I/O
 */
export function serve(
  handler: HttpHandler<Deno.NetAddr>,
  options?: ServeOptions,
): Coroutine<HttpServer<Deno.NetAddr>>;
/**
 * {@linkcode serve} on a Unix socket (`options.path`); `server.addr` and each
 * request's `info.remoteAddr` are `Deno.UnixAddr`. Needs `--allow-read` and
 * `--allow-write` for the path.
 *
 * @example
 * ```ts
 * import { fromPromise, run, serve } from "@aio/aio";
 * const path = `${await Deno.makeTempDir()}/http.sock`;
 * await run(function* () {
 *   const server = yield* serve(function* () {
 *     return new Response("over a Unix socket");
 *   }, { path });
 *   const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
 *   const res = yield* fromPromise(fetch("http://localhost/", { client }));
 *   console.log(yield* fromPromise(res.text())); // "over a Unix socket"
 *   client.close();
 *   yield* server.shutdown();
 * });
 * ```
 *
 * @category I/O
 */
export function serve(
  handler: HttpHandler<Deno.UnixAddr>,
  options: ServeUnixOptions,
): Coroutine<HttpServer<Deno.UnixAddr>>;
export function* serve(
  // deno-lint-ignore no-explicit-any
  handler: HttpHandler<any>,
  options?: ServeOptions | ServeUnixOptions,
): Coroutine<HttpServer<Deno.Addr>> {
  requireDeno("serve()");
  const loop = getRunningLoop();
  if (typeof handler !== "function") {
    throw new TypeError(`serve() expects a handler function, got ${describe(handler)}`);
  }
  const kind = (handler as { constructor?: { name?: string } }).constructor?.name;
  if (kind === "AsyncFunction" || kind === "AsyncGeneratorFunction") {
    throw new TypeError(
      `serve() expects a coroutine function (function*) as handler, got ${
        describe(handler)
      }: await a promise in it with yield* fromPromise(...)`,
    );
  }
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object") {
    throw new TypeError(`serve() options must be an object, got ${describe(options)}`);
  }
  if ((options as { onError?: unknown }).onError !== undefined) {
    throw new TypeError(
      "serve() has no onError option: a handler's exception answers 500 and goes to the " +
        "loop's exception handler (loop.setExceptionHandler)",
    );
  }
  const server = new HttpServer<Deno.Addr>(loop, handler, options);
  const onListen = options.onListen as ((addr: Deno.Addr) => void) | undefined;
  if (onListen !== undefined) {
    try {
      onListen(server.addr);
    } catch (e) {
      server._beginShutdown();
      throw e;
    }
  }
  return server;
}
