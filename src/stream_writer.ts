/**
 * `StreamWriter`: asyncio's buffered writer for a byte stream (a socket, a
 * pipe). `write()` never waits; `drain()` is where a task waits for the
 * other side to catch up.
 *
 * @module
 */
import { RuntimeError } from "./errors.ts";
import type { Future } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop } from "./running.ts";
import type { StreamReader } from "./stream_reader.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";

// ---- The buffer, the writer loop and the water marks ------------------------
//
// `write()` appends its bytes to `_chunks` without copying them: the array
// is handed over, and the caller must not modify it afterwards (nothing says
// when it has been sent; a copy of every write cost the echo benchmark a
// memcpy per byte) and, unless the writer loop is running, starts it. The writer
// loop is one async function per burst of writes: it takes everything
// buffered (one chunk, or several joined into one), hands it to the sink's
// OS write, and repeats until nothing is left; then it performs a pending
// `writeEof()` or `close()`. At most one OS write is in flight per stream,
// and every one is an outside completion of the loop (the virtual clock does
// not jump past it).
//
// `_buffered` counts bytes written and not yet accepted by the OS, including
// those of the write in flight. asyncio's FlowControlMixin water marks:
// `drain()` returns at once while `_buffered <= high` (64 KiB), else waits
// until the writer loop brings it to `low` (16 KiB) or below.
//
// Invariants, true between any two steps of the loop:
// - `_flushing` is true iff the writer loop runs; then `_buffered > 0`, or a
//   pending `writeEof()`/`close()` is being carried out.
// - `_drainWaiters` is empty unless `_buffered > low` and no error is set.
// - Once `_error` is set (the OS refused a write) nothing more is written;
//   once `_closing`, `write()` drops its bytes; `_closed` settles after the
//   sink is closed, exactly once.

/**
 * @internal Where a {@linkcode StreamWriter}'s bytes go: a socket, a pipe.
 * What asyncio's `WriteTransport` does below the buffer.
 */
export interface ByteSink {
  /** Writes some of `p` (at least one byte); resolves to how many. */
  write(p: Uint8Array): Promise<number>;
  /** Half-closes: the peer reads EOF. Undefined if the sink cannot. */
  closeWrite?(): Promise<void>;
  /** Closes both directions now; idempotent. */
  close(): void;
  /** `getExtraInfo(name)` of the stream; undefined when unknown. */
  extra(name: string): unknown;
}

const HIGH_WATER = 65_536;
const LOW_WATER = 16_384;
const encoder = new TextEncoder();

/**
 * The writing half of a stream: what `openConnection` and `startServer`'s
 * handlers get, and a child process's `stdin`. `write()` buffers and never
 * waits; `yield* writer.drain()` waits while more than 64 KiB are buffered
 * (until 16 KiB are left), which keeps a fast producer from filling memory
 * when the other side reads slowly.
 *
 * @example
 * ```ts ignore
 * import { openConnection, run } from "@aio/aio";
 * await run(function* () {
 *   const [reader, writer] = yield* openConnection("127.0.0.1", 8888);
 *   writer.write("hello\n");
 *   yield* writer.drain();
 *   console.log(new TextDecoder().decode(yield* reader.readline()));
 *   writer.close();
 *   yield* writer.waitClosed();
 * });
 * ```
 *
 * @category I/O
 */
export class StreamWriter implements Disposable {
  /** @ignore */
  _sink: ByteSink;
  /** @ignore */
  _loop: EventLoop;
  /** @ignore The other half of the stream, whose error `drain()` raises first. */
  _reader: StreamReader | null;
  /** @ignore */
  _chunks: Uint8Array[] = [];
  /** @ignore */
  _buffered = 0;
  /** @ignore */
  _flushing = false;
  /** @ignore `writeEof()` was called. */
  _eof = false;
  /** @ignore `close()` was called. */
  _closing = false;
  /** @ignore What the OS said when a write failed. */
  _error: unknown = undefined;
  /** @ignore */
  _drainWaiters: Future<void>[] = [];
  /** @ignore Settles once the sink is closed. */
  _closed: Future<void>;

  /** @ignore Made by `openConnection`, `startServer` and subprocesses. */
  constructor(sink: ByteSink, reader: StreamReader | null, loop: EventLoop) {
    this._sink = sink;
    this._reader = reader;
    this._loop = loop;
    this._closed = loop.createFuture<void>();
  }

  /**
   * Buffers `data` (a string is sent as UTF-8) and returns at once; the bytes
   * go out in the background, in order. A `Uint8Array` is handed over, not
   * copied: do not modify it after the call (write `data.slice()` to keep
   * using your array). After `writeEof()`: `RuntimeError`. After
   * `close()`, or once the connection failed, the bytes are dropped and the
   * next `drain()` raises.
   *
   * @example
   * ```ts ignore
   * writer.write("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
   * yield* writer.drain();
   * ```
   */
  write(data: Uint8Array | string): void {
    if (this._eof) throw new RuntimeError("cannot write() after writeEof()");
    let bytes: Uint8Array;
    if (typeof data === "string") bytes = encoder.encode(data);
    else if (data instanceof Uint8Array) bytes = data;
    else {
      throw new TypeError(`write() expects a Uint8Array or a string, got ${describe(data)}`);
    }
    if (this._closing || this._error !== undefined || bytes.length === 0) return;
    this._chunks.push(bytes);
    this._buffered += bytes.length;
    if (!this._flushing) void this._flush();
  }

  /**
   * Writes each chunk of `chunks`, as `write()` would.
   *
   * @example
   * ```ts ignore
   * writer.writelines(["a\n", "b\n"]);
   * ```
   */
  writelines(chunks: Iterable<Uint8Array | string>): void {
    for (const c of chunks) this.write(c);
  }

  /**
   * Waits until the buffer is small enough to go on writing: returns at once
   * while at most 64 KiB are buffered, else when 16 KiB or less are left.
   * Throws the connection's error (a `Deno.errors.ConnectionReset`,
   * `BrokenPipe`, ...) if a write failed or the reading side saw one, and
   * `ConnectionReset` if the writer was closed.
   *
   * @example
   * ```ts ignore
   * for (const line of lines) {
   *   writer.write(line);
   *   yield* writer.drain(); // a slow reader slows this loop, not memory
   * }
   * ```
   */
  *drain(): Coroutine<void> {
    const readerError = this._reader?.exception();
    if (readerError !== undefined) throw readerError;
    if (this._error !== undefined) throw this._error;
    if (this._closing) {
      throw new Deno.errors.ConnectionReset("the stream was closed: drain() after close()");
    }
    if (this._buffered <= HIGH_WATER) return;
    const waiter = this._loop.createFuture<void>();
    this._drainWaiters.push(waiter);
    try {
      yield* waiter;
    } finally {
      const i = this._drainWaiters.indexOf(waiter);
      if (i >= 0) this._drainWaiters.splice(i, 1);
    }
  }

  /**
   * Whether `writeEof()` is possible: true for TCP and Unix sockets and pipes,
   * false for TLS (as asyncio).
   *
   * @example
   * ```ts ignore
   * if (writer.canWriteEof()) writer.writeEof(); // the peer's read() returns what is left, then EOF
   * ```
   */
  canWriteEof(): boolean {
    return this._sink.closeWrite !== undefined;
  }

  /**
   * Closes the writing direction once the buffer is sent: the peer reads EOF
   * while this side can still read. Later `write()` calls are a
   * `RuntimeError`.
   *
   * @example
   * ```ts ignore
   * writer.write(request);
   * writer.writeEof();
   * const response = yield* reader.read(); // to EOF
   * ```
   */
  writeEof(): void {
    if (!this.canWriteEof()) {
      throw new RuntimeError("this stream cannot write EOF (TLS cannot half-close)");
    }
    if (this._eof || this._closing) return;
    this._eof = true;
    if (!this._flushing) void this._flush();
  }

  /**
   * Closes the stream once what is buffered is sent (asyncio's
   * `transport.close()`); the reading half sees EOF. Later writes send
   * nothing. Idempotent.
   *
   * @example
   * ```ts ignore
   * writer.close();
   * yield* writer.waitClosed();
   * ```
   */
  close(): void {
    if (this._closing) return;
    this._closing = true;
    if (!this._flushing) this._closeSink();
  }

  /**
   * Whether `close()` was called (or the stream is closed).
   *
   * @example
   * ```ts ignore
   * writer.close();
   * console.log(writer.isClosing()); // true
   * ```
   */
  isClosing(): boolean {
    return this._closing;
  }

  /**
   * Waits until the stream is closed (after `close()`: once the buffer is
   * sent and the connection closed).
   *
   * @example
   * ```ts ignore
   * writer.close();
   * yield* writer.waitClosed();
   * ```
   */
  *waitClosed(): Coroutine<void> {
    const closed = this._closed;
    if (closed.done()) return;
    // A future of its own: cancelling the waiting task must not cancel
    // `_closed`, which would read as "already closed" and leave the sink open.
    const waiter = this._loop.createFuture<void>();
    closed.addDoneCallback(() => {
      if (!waiter.done()) waiter.setResult(undefined);
    });
    yield* waiter;
  }

  /**
   * Details of the stream: `"peername"` and `"sockname"` (Deno address
   * objects), `"transport"` (the Deno connection or pipe); `fallback` for
   * anything else.
   *
   * @example
   * ```ts ignore
   * const peer = writer.getExtraInfo("peername") as Deno.NetAddr;
   * console.log(`${peer.hostname}:${peer.port}`);
   * ```
   */
  getExtraInfo(name: string, fallback?: unknown): unknown {
    const v = this._sink.extra(name);
    return v === undefined ? fallback : v;
  }

  /**
   * `using writer = …`: `close()` at the end of the scope.
   *
   * @example
   * ```ts ignore
   * const [reader, w] = yield* openConnection("127.0.0.1", 8888);
   * using writer = w;
   * writer.write("bye\n");
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * `<StreamWriter …>` with what is buffered and the state.
   *
   * @example
   * ```ts ignore
   * console.log(String(writer)); // "<StreamWriter buffered=0>"
   * ```
   */
  toString(): string {
    const info = [`buffered=${this._buffered}`];
    if (this._eof) info.push("eof");
    if (this._closing) info.push("closing");
    if (this._error !== undefined) info.push(`error=${describe(this._error)}`);
    return `<StreamWriter ${info.join(" ")}>`;
  }

  // ---- the writer loop ---------------------------------------------------------

  /** @ignore Sends everything buffered, then a pending EOF or close. */
  async _flush(): Promise<void> {
    this._flushing = true;
    const loop = this._loop;
    loop._beginExternal();
    try {
      while (this._chunks.length > 0 && this._error === undefined) {
        const chunks = this._chunks;
        const data = chunks.length === 1 ? chunks[0] : join(chunks);
        this._chunks = [];
        for (let off = 0; off < data.length;) {
          const n = await this._sink.write(off === 0 ? data : data.subarray(off));
          off += n;
          this._buffered -= n;
          if (this._buffered <= LOW_WATER && this._drainWaiters.length > 0) this._wakeDrain();
        }
      }
      if (this._eof && !this._closing && this._error === undefined) {
        await this._sink.closeWrite!();
      }
    } catch (e) {
      this._fail(e);
    } finally {
      this._flushing = false;
      loop._endExternal();
    }
    if (this._closing) this._closeSink();
    else if (this._chunks.length > 0 && this._error === undefined) void this._flush();
  }

  /** @ignore The OS refused a write: nothing more goes out; waiters get the error. */
  _fail(e: unknown): void {
    if (this._error !== undefined) return;
    // A stream closed under the write (by close() or the loop ending) is not an error.
    this._error = this._closing ? new Deno.errors.ConnectionReset("the stream was closed") : e;
    this._chunks = [];
    this._buffered = 0;
    const waiters = this._drainWaiters;
    this._drainWaiters = [];
    for (const w of waiters) if (!w.done()) w.setException(this._error);
  }

  /** @ignore */
  _wakeDrain(): void {
    const waiters = this._drainWaiters;
    this._drainWaiters = [];
    for (const w of waiters) if (!w.done()) w.setResult(undefined);
  }

  /** @ignore Closes now, dropping what is buffered (asyncio's `transport.abort()`). */
  _abort(): void {
    this._closing = true;
    this._chunks = [];
    this._buffered = 0;
    this._closeSink();
  }

  /** @ignore Closes the sink (both directions) and settles `waitClosed()`. */
  _closeSink(): void {
    if (this._closed.done()) return;
    this._sink.close();
    this._chunks = [];
    if (this._drainWaiters.length > 0) {
      this._fail(new Deno.errors.ConnectionReset("the stream was closed"));
    }
    if (!this._loop.isClosed()) this._closed.setResult(undefined);
  }
}

function join(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * @internal The loop a stream binds to: the running one. Streams are made
 * inside coroutines.
 */
export function streamLoop(what: string): EventLoop {
  try {
    return getRunningLoop();
  } catch {
    throw new RuntimeError(`${what} must be called from a coroutine running on an aio loop`);
  }
}
