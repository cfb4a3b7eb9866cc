/**
 * `StreamReader`: asyncio's buffered reader for a byte stream. A transport
 * (a socket, a pipe) or your own code feeds it bytes with `feedData()` and
 * ends it with `feedEof()` or `setException()`; tasks read lines, separated
 * records, exact byte counts or everything with coroutines. Cancelling a read
 * never loses data: bytes already received stay buffered for the next read.
 *
 * @module
 */
import { IncompleteReadError, LimitOverrunError, RuntimeError, ValueError } from "./errors.ts";
import { type Future, PENDING } from "./future.ts";
import type { EventLoop } from "./loop.ts";
import { boundLoop } from "./loop_bound.ts";
import type { Coroutine } from "./task.ts";
import { describe } from "./util.ts";

// ---- The buffer, its water marks, and the module's invariants -------------------
//
// The buffered bytes are `_buf[_head, _tail)`: one contiguous Uint8Array with a
// read position and a write position. `feedData` copies the new bytes in at
// `_tail` (so the feeder may reuse its own array); every read copies its
// result out with `slice` from `_head` and moves `_head` on. A separator
// search is one `indexOf` over a contiguous view, even when the separator
// straddles two fed chunks, and no chunk is ever concatenated twice. A
// transport that gives its array away (`_feedOwned`) has it kept as the
// buffer itself, with no copy, when nothing is buffered.
//
//   capacity:  [ consumed ... | buffered bytes ... | free ... ]
//               0          _head                 _tail     _buf.length
//
// When a feed does not fit after `_tail`, `_makeRoom` either slides the
// buffered bytes to the front (when they fill at most half of the array: the
// reads since the last slide consumed more bytes than the slide copies) or
// moves them into an array twice as large. Each byte is thus copied O(1)
// times amortized, whatever the chunk sizes. When a read empties the buffer,
// `_head` and `_tail` go back to 0; an array grown past `max(64 KiB, 4 x
// limit)` (by a huge `readexactly` or `read()` to EOF) is dropped then, so an
// idle connection holds no large buffer.
//
// `_consumed` counts every byte ever taken out; `readuntil` remembers how far
// it has already searched as an absolute position, so a wait never makes it
// rescan bytes it has seen, even if another task read in between.
//
// Flow control (asyncio's `StreamReaderProtocol` pause/resume): `limit` is the
// low-water mark and `2 x limit` the high-water mark.
// - Pause: when more than `2 x limit` bytes are buffered and no read waits,
//   after a feed or after a read, the reader calls `transport.pauseReading()`.
//   A feed that wakes a waiting read does not pause: that read is short of
//   data, and if it still is after taking what came, it resumes at once.
// - Resume: `transport.resumeReading()` when a read brings the buffer down to
//   `limit` bytes or fewer, or when a read must wait for more than is
//   buffered (`readexactly(n)` with `n > 2 x limit`, `read()` to EOF): without
//   it that read would wait forever on a paused transport.
//
// Invariants, true between any two steps of the loop:
// - Either nobody waits, or exactly one read waits on `_waiter` (a pending
//   future of this reader's loop) and the buffer cannot satisfy it: `_eof` is
//   false and no exception is set. Every event that could satisfy it
//   (`feedData`, `feedEof`, `setException`) completes `_waiter` and clears it
//   first, so a second read may start waiting only once the first is woken.
// - Reads consume (move `_head`) only after their last wait, in the same step
//   that returns or throws; a read that is cancelled while waiting has
//   therefore taken nothing. The only reads that empty the buffer without
//   returning it (`readline` over the limit, as asyncio) do so in that step.
// - `_paused` means the transport was told `pauseReading()` and not
//   `resumeReading()` since; it is never true while a read waits.

const DEFAULT_LIMIT = 65_536;
const MIN_CAPACITY = 4096;
const KEEP_CAPACITY = 65_536;
// Reads of at least this many bytes that take the whole buffer take it over.
const HANDOFF_MIN = 32_768;
const EMPTY = new Uint8Array(0);
const NEWLINE = 10;
const NEWLINE_SEPARATORS: readonly Uint8Array[] = [Uint8Array.of(NEWLINE)];

const encoder = new TextEncoder();

/**
 * @internal The flow-control side of the transport that feeds a
 * {@linkcode StreamReader}: what asyncio's `ReadTransport` offers to
 * `StreamReaderProtocol`.
 */
export interface ReaderTransport {
  /** Stop delivering data (stop issuing OS reads) until `resumeReading()`. */
  pauseReading(): void;
  /** Deliver data again. */
  resumeReading(): void;
}

/**
 * Options for {@linkcode StreamReader}.
 *
 * @example
 * ```ts
 * import { StreamReader, type StreamReaderOptions } from "@aio/aio";
 * const options: StreamReaderOptions = { limit: 1024 }; // lines of at most 1 KiB
 * console.log(String(new StreamReader(options))); // "<StreamReader limit=1024>"
 * ```
 *
 * @category I/O
 */
export interface StreamReaderOptions {
  /**
   * The longest line or record, in bytes, `readline` and `readuntil` accept
   * (the separator not counted), and the buffer's water marks: reading from
   * the transport pauses above `2 x limit` buffered bytes. Default 65,536.
   */
  limit?: number;
}

/**
 * What {@linkcode StreamReader.readuntil} looks for: a string (UTF-8
 * encoded), bytes, or a list of either (the first match to end wins).
 *
 * @example
 * ```ts
 * import { type StreamSeparator } from "@aio/aio";
 * const lineEnd: StreamSeparator = ["\r\n", "\n"]; // CRLF or a bare LF
 * const nul: StreamSeparator = new Uint8Array([0]);
 * console.log(lineEnd.length, nul.length); // 2 1
 * ```
 *
 * @category I/O
 */
export type StreamSeparator = string | Uint8Array | readonly (string | Uint8Array)[];

function checkCount(n: unknown, what: string): number {
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new TypeError(`${what} expects an integer byte count, got ${describe(n)}`);
  }
  return n;
}

function oneSeparator(sep: unknown): Uint8Array {
  let bytes: Uint8Array;
  if (typeof sep === "string") bytes = encoder.encode(sep);
  else if (sep instanceof Uint8Array) bytes = sep.slice(); // the caller may reuse its array
  else {
    const got = describe(sep);
    throw new TypeError(`readuntil() expects a string, Uint8Array or array of them, got ${got}`);
  }
  if (bytes.length === 0) {
    throw new ValueError("readuntil() separator should be at least one byte long");
  }
  return bytes;
}

/** The separators to look for, shortest first (a tie on the match's end goes to the shortest). */
function toSeparators(separator: unknown): readonly Uint8Array[] {
  if (separator === "\n") return NEWLINE_SEPARATORS;
  if (!Array.isArray(separator)) return [oneSeparator(separator)];
  if (separator.length === 0) {
    throw new ValueError("readuntil() separator list should contain at least one separator");
  }
  return separator.map(oneSeparator).sort((a, b) => a.length - b.length);
}

/** The first index `>= from` where `sep` starts in `hay`, or -1. */
function indexOfSeparator(hay: Uint8Array, sep: Uint8Array, from: number): number {
  const m = sep.length;
  const first = sep[0];
  const last = hay.length - m;
  for (let i = from; i <= last; i++) {
    i = hay.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let k = 1;
    while (k < m && hay[i + k] === sep[k]) k++;
    if (k === m) return i;
  }
  return -1;
}

function reprValue(v: unknown): string {
  if (v instanceof Error) return `${v.name}(${JSON.stringify(v.message)})`;
  if (typeof v === "object" && v !== null) {
    const s = String(v);
    return s === "[object Object]" ? (v.constructor?.name ?? "object") : s;
  }
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/**
 * A buffered reader for a byte stream (asyncio's `StreamReader`). Whoever
 * produces the bytes calls {@linkcode StreamReader.feedData}, then
 * {@linkcode StreamReader.feedEof} at the end of the stream or
 * {@linkcode StreamReader.setException} when it fails; tasks read with the
 * coroutines `read`, `readline`, `readexactly` and `readuntil`, or iterate
 * over lines with {@linkcode StreamReader.lines}. Results are `Uint8Array`s
 * of their own (never views of the buffer).
 *
 * One task at a time may wait for data: a second read that must wait while
 * another does throws `RuntimeError`, as in asyncio. Cancelling a read (by
 * `timeout`, `waitFor`, a task group) never loses data: a read takes bytes
 * out of the buffer only when it returns, so everything received stays for
 * the next read.
 *
 * `openConnection`, `startServer` and subprocess pipes hand you readers fed
 * by their connection; `new StreamReader()` is a reader you feed yourself,
 * for tests and for parsing bytes that arrive some other way. A reader binds
 * to the loop of the first read that waits.
 *
 * @example
 * ```ts
 * import { getRunningLoop, run, StreamReader } from "@aio/aio";
 * const reader = new StreamReader();
 * await run(function* () {
 *   const loop = getRunningLoop();
 *   loop.callLater(10, () => reader.feedData(new TextEncoder().encode("HELO x\r\nda")));
 *   loop.callLater(20, () => reader.feedData(new TextEncoder().encode("ta\r\n")));
 *   loop.callLater(30, () => reader.feedEof());
 *   const dec = new TextDecoder();
 *   console.log(dec.decode(yield* reader.readuntil("\r\n"))); // "HELO x\r\n"
 *   console.log(dec.decode(yield* reader.readexactly(4))); // "data"
 *   console.log((yield* reader.read()).length, reader.atEof()); // 2 true
 * }, { clock: "virtual" });
 * ```
 *
 * @category I/O
 */
export class StreamReader {
  /** @ignore The loop this primitive bound to on first use (see `loop_bound.ts`). */
  _loop: EventLoop | null = null;
  /** @ignore */
  _limit: number;
  /** @ignore Storage; the buffered bytes are `_buf[_head, _tail)`. */
  _buf: Uint8Array = new Uint8Array(0);
  /** @ignore */
  _head = 0;
  /** @ignore */
  _tail = 0;
  /** @ignore Bytes taken out since the reader was made. */
  _consumed = 0;
  /** @ignore `feedEof()` was called. */
  _eof = false;
  /** @ignore What `setException()` set; `undefined`: none. */
  _exception: unknown = undefined;
  /** @ignore The future the one waiting read waits on. */
  _waiter: Future<void> | null = null;
  /** @ignore */
  _transport: ReaderTransport | null = null;
  /** @ignore The transport was told to pause. */
  _paused = false;

  /**
   * A reader with an empty buffer. `limit` (bytes, default 65,536) must be
   * a positive integer: otherwise `ValueError` (`TypeError` if not a number).
   */
  constructor(options?: StreamReaderOptions) {
    const limit = options?.limit ?? DEFAULT_LIMIT;
    if (typeof limit !== "number") {
      throw new TypeError(`StreamReader limit must be a number of bytes, got ${describe(limit)}`);
    }
    if (!Number.isInteger(limit) || limit <= 0) {
      throw new ValueError(`StreamReader limit must be a positive integer (bytes), got ${limit}`);
    }
    this._limit = limit;
  }

  /**
   * The exception set with {@linkcode StreamReader.setException} (the
   * connection's error), or `undefined`.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * console.log(reader.exception()); // undefined
   * reader.setException(new Deno.errors.ConnectionReset("peer went away"));
   * console.log(reader.exception() instanceof Deno.errors.ConnectionReset); // true
   * ```
   */
  exception(): unknown {
    return this._exception;
  }

  /**
   * Makes every later read throw `exc` (at once, even with data buffered),
   * and wakes the waiting read, if any, with it. A transport calls this when
   * the connection fails. `undefined` is a `TypeError`.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * await run(function* () {
   *   getRunningLoop().callLater(10, () => reader.setException(new Error("reset")));
   *   try {
   *     yield* reader.readline();
   *   } catch (e) {
   *     console.log((e as Error).message); // "reset"
   *   }
   * }, { clock: "virtual" });
   * ```
   */
  setException(exc: unknown): void {
    if (exc === undefined) {
      throw new TypeError("setException() needs an exception; undefined means none");
    }
    this._exception = exc;
    const w = this._waiter;
    if (w !== null) {
      this._waiter = null;
      if (w._state === PENDING) w._doSetException(exc);
    }
  }

  /**
   * Adds `data` to the buffer (a copy: the caller may reuse its array) and
   * wakes the waiting read, if any. Empty data does nothing. After
   * {@linkcode StreamReader.feedEof}: `RuntimeError`.
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("ping\n"));
   * const line = await run(() => reader.readline());
   * console.log(new TextDecoder().decode(line)); // "ping\n"
   * ```
   */
  feedData(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`feedData() expects a Uint8Array, got ${describe(data)}`);
    }
    if (this._eof) throw new RuntimeError("feedData() after feedEof(): the stream has ended");
    const n = data.length;
    if (n === 0) return;
    if (this._tail + n > this._buf.length) this._makeRoom(n);
    this._buf.set(data, this._tail);
    this._tail += n;
    this._fed();
  }

  /**
   * @ignore `feedData` for a transport that gives `data` away: when nothing
   * is buffered, the reader keeps `data` itself as its buffer (no copy) and
   * returns true; otherwise it returns false and takes nothing (the caller
   * feeds a copy with `feedData`). Only non-empty data, before EOF.
   */
  _feedOwned(data: Uint8Array): boolean {
    if (this._head !== this._tail || this._eof) return false;
    this._buf = data;
    this._head = 0;
    this._tail = data.length;
    this._fed();
    return true;
  }

  /** @ignore After a feed: wakes the waiting read, or pauses the transport above the high-water mark. */
  _fed(): void {
    const w = this._waiter;
    if (w !== null) {
      this._waiter = null;
      if (w._state === PENDING) {
        // A read short of data takes this: no pause (see the header).
        w._doSetResult(undefined);
        return;
      }
    }
    if (this._transport !== null && !this._paused && this._tail - this._head > 2 * this._limit) {
      this._paused = true;
      this._transport.pauseReading();
    }
  }

  /**
   * Marks the end of the stream and wakes the waiting read, if any: reads
   * then return what is buffered, and empty results once it is consumed.
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("last words"));
   * reader.feedEof();
   * const rest = await run(() => reader.read());
   * console.log(new TextDecoder().decode(rest), reader.atEof()); // "last words" true
   * ```
   */
  feedEof(): void {
    this._eof = true;
    const w = this._waiter;
    if (w !== null) {
      this._waiter = null;
      if (w._state === PENDING) w._doSetResult(undefined);
    }
  }

  /**
   * Whether the stream has ended and every byte has been read: `feedEof()`
   * was called and the buffer is empty.
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new Uint8Array([1, 2]));
   * reader.feedEof();
   * console.log(reader.atEof()); // false: 2 bytes are left
   * await run(() => reader.read());
   * console.log(reader.atEof()); // true
   * ```
   */
  atEof(): boolean {
    return this._eof && this._head === this._tail;
  }

  /**
   * Reads up to `n` bytes. With `n < 0` (the default), reads until the end
   * of the stream and evaluates to everything. With `n = 0`, evaluates to
   * empty bytes at once. Otherwise waits until at least one byte is
   * buffered and takes up to `n` of them; empty bytes only at the end of the
   * stream. `limit` does not apply. Throws the reader's exception if one is
   * set; a non-integer `n` is a `TypeError`.
   *
   * Cancelled while waiting (even `read()` to EOF, partway), it has taken
   * nothing: everything received is still buffered.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * await run(function* () {
   *   getRunningLoop().callLater(5, () => reader.feedData(new Uint8Array(10)));
   *   console.log((yield* reader.read(4)).length); // 4, after 5 ms
   *   console.log((yield* reader.read(100)).length); // 6: what is buffered
   *   reader.feedData(new Uint8Array(3));
   *   reader.feedEof();
   *   console.log((yield* reader.read()).length); // 3: up to the end
   * }, { clock: "virtual" });
   * ```
   */
  *read(n = -1): Coroutine<Uint8Array> {
    checkCount(n, "read()");
    if (this._exception !== undefined) throw this._exception;
    if (n === 0) return new Uint8Array(0);
    if (n < 0) {
      // Everything stays buffered until EOF, so a cancellation loses nothing;
      // each wait resumes a paused transport, so this cannot deadlock.
      while (!this._eof) yield* this._waitForData("read");
      return this._take(this._tail - this._head);
    }
    if (this._head === this._tail && !this._eof) yield* this._waitForData("read");
    const size = this._tail - this._head;
    return this._take(n < size ? n : size);
  }

  /**
   * Reads one line: the bytes through the next `\n`, which is included. At
   * the end of the stream, the partial line without `\n`; when nothing is
   * left, empty bytes.
   *
   * A line longer than `limit` (the `\n` not counted) is a `ValueError`, as
   * in asyncio, and is discarded: through its `\n` if it was buffered,
   * otherwise the whole buffer (the line's rest then comes as the next
   * line). Use `readuntil()` to keep an overlong record buffered instead.
   * Throws the reader's exception if one is set.
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x"));
   * reader.feedEof();
   * await run(function* () {
   *   const dec = new TextDecoder();
   *   console.log(JSON.stringify(dec.decode(yield* reader.readline()))); // "GET / HTTP/1.1\r\n"
   *   console.log(JSON.stringify(dec.decode(yield* reader.readline()))); // "Host: x"
   *   console.log((yield* reader.readline()).length); // 0: the end
   * });
   * ```
   */
  *readline(): Coroutine<Uint8Array> {
    // A whole line already buffered: one search, no second coroutine.
    const head = this._head, tail = this._tail;
    if (head < tail && this._exception === undefined) {
      const i = this._buf.subarray(head, tail).indexOf(NEWLINE);
      if (i >= 0 && i <= this._limit) return this._take(i + 1);
    }
    try {
      return yield* this._readuntil(NEWLINE_SEPARATORS, "readline");
    } catch (e) {
      if (e instanceof IncompleteReadError) return e.partial;
      if (e instanceof LimitOverrunError) {
        const at = this._head + e.consumed;
        const size = this._tail - this._head;
        this._skip(at < this._tail && this._buf[at] === NEWLINE ? e.consumed + 1 : size);
        throw new ValueError(`readline(): ${e.message}; the line was discarded`, { cause: e });
      }
      throw e;
    }
  }

  /**
   * Reads exactly `n` bytes, waiting for as many as needed. If the stream
   * ends first, throws `IncompleteReadError` whose `.partial` holds the bytes
   * that were left (they are consumed) and `.expected` is `n`. `n = 0`:
   * empty bytes at once. `limit` does not apply. `n < 0` is a `ValueError`;
   * throws the reader's exception if one is set.
   *
   * @example
   * ```ts
   * import { IncompleteReadError, run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new Uint8Array([0, 3, 97, 98, 99, 0, 9, 1]));
   * reader.feedEof();
   * await run(function* () {
   *   // Length-prefixed frames: a 2-byte big-endian length, then the payload.
   *   const header = yield* reader.readexactly(2);
   *   const body = yield* reader.readexactly((header[0] << 8) | header[1]);
   *   console.log(new TextDecoder().decode(body)); // "abc"
   *   try {
   *     yield* reader.readexactly(9);
   *   } catch (e) {
   *     if (!(e instanceof IncompleteReadError)) throw e;
   *     console.log(e.partial.length, e.expected); // 3 9
   *   }
   * });
   * ```
   */
  *readexactly(n: number): Coroutine<Uint8Array> {
    checkCount(n, "readexactly()");
    if (n < 0) throw new ValueError(`readexactly() size can not be less than zero, got ${n}`);
    if (this._exception !== undefined) throw this._exception;
    if (n === 0) return new Uint8Array(0);
    while (this._tail - this._head < n) {
      if (this._eof) throw new IncompleteReadError(this._take(this._tail - this._head), n);
      yield* this._waitForData("readexactly");
    }
    return this._take(n);
  }

  /**
   * Reads up to and including `separator` (default `"\n"`; a string is
   * UTF-8 encoded). Given a list of separators, stops at whichever match
   * ends first (the shortest separator on a tie), as Python 3.13's tuple.
   *
   * If `limit` bytes pass without the separator, or it is found after more
   * than `limit` bytes, throws `LimitOverrunError`; the data stays buffered
   * (`.consumed` says how much is at issue), so it can still be read. If the
   * stream ends first, throws `IncompleteReadError` with the bytes that were
   * left in `.partial` (consumed) and `.expected` `null`. An empty separator
   * (or list) is a `ValueError`; throws the reader's exception if one is set.
   *
   * @example
   * ```ts
   * import { LimitOverrunError, run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader({ limit: 8 });
   * reader.feedData(new TextEncoder().encode("a=1;bb=22\r\nan overlong record;"));
   * await run(function* () {
   *   const dec = new TextDecoder();
   *   console.log(dec.decode(yield* reader.readuntil(";"))); // "a=1;"
   *   console.log(dec.decode(yield* reader.readuntil([";", "\r\n"]))); // "bb=22\r\n"
   *   try {
   *     yield* reader.readuntil(";");
   *   } catch (e) {
   *     if (!(e instanceof LimitOverrunError)) throw e;
   *     // Still buffered: take it another way.
   *     console.log(dec.decode(yield* reader.readexactly(e.consumed + 1))); // "an overlong record;"
   *   }
   * });
   * ```
   */
  *readuntil(separator: StreamSeparator = "\n"): Coroutine<Uint8Array> {
    return yield* this._readuntil(toSeparators(separator), "readuntil");
  }

  /**
   * The lines of the stream, for one `for...of` loop: each element is a
   * coroutine that evaluates to the next line (as `readline()`), and the
   * loop ends by itself once the stream has ended and every byte was read.
   * A coroutine evaluates to `null` only if the stream ends while it waits
   * with nothing buffered (the loop ends right after): test for it, and
   * `break` or `continue`. Errors (the reader's exception, a line over the
   * limit) are thrown from `yield* next`. Iteration can stop and resume.
   *
   * @example
   * ```ts
   * import { getRunningLoop, run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * await run(function* () {
   *   const enc = new TextEncoder();
   *   const loop = getRunningLoop();
   *   loop.callLater(10, () => reader.feedData(enc.encode("one\ntwo\nthr")));
   *   loop.callLater(20, () => reader.feedData(enc.encode("ee\n")));
   *   loop.callLater(30, () => reader.feedEof());
   *   const dec = new TextDecoder();
   *   for (const next of reader.lines()) {
   *     const line = yield* next;
   *     if (line === null) break; // the stream ended
   *     console.log(dec.decode(line).trimEnd()); // "one", "two", "three"
   *   }
   * }, { clock: "virtual" });
   * ```
   */
  lines(): StreamLineIterator {
    return new StreamLineIterator(this);
  }

  /**
   * A short description such as `<StreamReader 4 bytes eof limit=123>`, as
   * asyncio's repr: the bytes buffered, `eof`, a non-default limit, the
   * waiting read's future, the exception, the transport, `paused`.
   *
   * @example
   * ```ts
   * import { StreamReader } from "@aio/aio";
   * const reader = new StreamReader({ limit: 123 });
   * reader.feedData(new Uint8Array(4));
   * reader.feedEof();
   * console.log(String(reader)); // "<StreamReader 4 bytes eof limit=123>"
   * ```
   */
  toString(): string {
    const info = ["StreamReader"];
    const size = this._tail - this._head;
    if (size > 0) info.push(`${size} bytes`);
    if (this._eof) info.push("eof");
    if (this._limit !== DEFAULT_LIMIT) info.push(`limit=${this._limit}`);
    if (this._waiter !== null) info.push(`waiter=${this._waiter}`);
    if (this._exception !== undefined) info.push(`exception=${reprValue(this._exception)}`);
    if (this._transport !== null) info.push(`transport=${reprValue(this._transport)}`);
    if (this._paused) info.push("paused");
    return `<${info.join(" ")}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  /**
   * @ignore Attaches the transport whose reading this reader pauses and
   * resumes (see the header); `null` detaches it. A second transport while
   * one is attached: `RuntimeError`.
   */
  _setTransport(transport: ReaderTransport | null): void {
    if (transport !== null && this._transport !== null) {
      throw new RuntimeError("StreamReader already has a transport");
    }
    this._transport = transport;
    this._paused = false;
  }

  /** @ignore A copy of the buffered bytes, for tests and debugging. */
  _peekBuffer(): Uint8Array {
    return this._buf.slice(this._head, this._tail);
  }

  /**
   * @ignore Waits until `feedData`, `feedEof` or `setException` is
   * called: the only place a read suspends. Resumes a paused transport
   * first (the reader wants more than is buffered).
   */
  *_waitForData(what: string): Coroutine<void> {
    if (this._exception !== undefined) throw this._exception;
    if (this._isWaiting()) {
      throw new RuntimeError(
        `${what}() called while another coroutine is already waiting for incoming data: ` +
          "read a stream from one task at a time",
      );
    }
    if (this._paused) {
      this._paused = false;
      this._transport!.resumeReading();
    }
    const fut = boundLoop(this).createFuture<void>();
    this._waiter = fut;
    try {
      yield* fut;
    } finally {
      // Woken, the feeder cleared it already; cancelled, this clears it.
      if (this._waiter === fut) this._waiter = null;
    }
  }

  /** @ignore `readuntil` on normalized separators (shortest first). */
  *_readuntil(seps: readonly Uint8Array[], what: string): Coroutine<Uint8Array> {
    if (this._exception !== undefined) throw this._exception;
    const limit = this._limit;
    const minLen = seps[0].length;
    const maxLen = seps[seps.length - 1].length;
    // No separator starts before this absolute position (see the header).
    let searched = this._consumed;
    let start = -1;
    let end = -1;
    for (;;) {
      const size = this._tail - this._head;
      let offset = searched - this._consumed;
      if (offset < 0) offset = 0;
      if (size - offset >= minLen) {
        const hay = this._buf.subarray(this._head, this._tail);
        for (let s = 0; s < seps.length; s++) {
          const sep = seps[s];
          const i = indexOfSeparator(hay, sep, offset);
          if (i >= 0 && (end < 0 || i + sep.length < end)) {
            start = i;
            end = i + sep.length;
          }
        }
        if (end >= 0) break;
        // A separator may still start in the last maxLen - 1 bytes.
        offset = size + 1 - maxLen;
        if (offset < 0) offset = 0;
        searched = this._consumed + offset;
        if (offset > limit) {
          throw new LimitOverrunError(
            `separator not found in the first ${offset} bytes, more than the limit ` +
              `(${limit}); the data stays buffered`,
            offset,
          );
        }
      }
      // The feed that brought the separator may also have ended the stream:
      // look in the buffer before looking at EOF.
      if (this._eof) throw new IncompleteReadError(this._take(size), null);
      yield* this._waitForData(what);
    }
    if (start > limit) {
      throw new LimitOverrunError(
        `separator is found, but the ${start} bytes before it are more than the limit ` +
          `(${limit}); the data stays buffered`,
        start,
      );
    }
    return this._take(end);
  }

  /** @ignore Takes the next `n` buffered bytes out, as a copy. */
  _take(n: number): Uint8Array {
    if (
      n === this._tail - this._head &&
      (n >= HANDOFF_MIN ? n * 2 >= this._buf.length : n === this._buf.length && n >= 4096)
    ) {
      // A large read of everything buffered, or of a whole array a
      // transport handed over, takes the buffer itself, not a copy: the next
      // feed starts a new one (one memcpy less per byte on bulk transfers).
      const out = this._buf.subarray(this._head, this._tail);
      this._buf = EMPTY;
      this._skip(n);
      return out;
    }
    // A new array filled with set() costs ~40% less than slice() in Deno 2.9.
    const out = new Uint8Array(n);
    out.set(this._buf.subarray(this._head, this._head + n));
    this._skip(n);
    return out;
  }

  /** @ignore Drops the next `n` buffered bytes; then pauses or resumes the transport. */
  _skip(n: number): void {
    this._consumed += n;
    this._head += n;
    if (this._head === this._tail) {
      this._head = this._tail = 0;
      if (this._buf.length > Math.max(KEEP_CAPACITY, 4 * this._limit)) {
        this._buf = new Uint8Array(0);
      }
    }
    const t = this._transport;
    if (t === null) return;
    const size = this._tail - this._head;
    if (this._paused) {
      if (size <= this._limit) {
        this._paused = false;
        t.resumeReading();
      }
    } else if (size > 2 * this._limit && !this._isWaiting()) {
      this._paused = true;
      t.pauseReading();
    }
  }

  /** @ignore Whether a read waits for data now. */
  _isWaiting(): boolean {
    return this._waiter !== null && this._waiter._state === PENDING;
  }

  /** @ignore Makes room for `n` more bytes after `_tail` (see the header). */
  _makeRoom(n: number): void {
    const buf = this._buf;
    const size = this._tail - this._head;
    const need = size + n;
    if (need <= buf.length >> 1) {
      buf.copyWithin(0, this._head, this._tail);
    } else {
      let cap = buf.length < MIN_CAPACITY ? MIN_CAPACITY : buf.length * 2;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(buf.subarray(this._head, this._tail));
      this._buf = grown;
    }
    this._head = 0;
    this._tail = size;
  }

  /** @ignore The coroutine `lines()` hands out: `readline`, `null` for the end. */
  *_nextLine(): Coroutine<Uint8Array | null> {
    const line = yield* this.readline();
    return line.length === 0 ? null : line;
  }
}

/**
 * What {@linkcode StreamReader.lines} returns: an iterator of coroutines,
 * each evaluating to the next line, or to `null` if the stream ended while
 * it waited. It is done once the reader is at EOF (and no exception is set).
 *
 * @example
 * ```ts
 * import { run, StreamReader } from "@aio/aio";
 * const reader = new StreamReader();
 * reader.feedData(new TextEncoder().encode("a\nb\n"));
 * reader.feedEof();
 * const lines = await run(function* () {
 *   const out: string[] = [];
 *   for (const next of reader.lines()) {
 *     const line = yield* next;
 *     if (line === null) break;
 *     out.push(new TextDecoder().decode(line));
 *   }
 *   return out;
 * });
 * console.log(lines); // ["a\n", "b\n"]
 * ```
 *
 * @category I/O
 */
export class StreamLineIterator implements IterableIterator<Coroutine<Uint8Array | null>> {
  /** @ignore */
  _reader: StreamReader;

  /** @ignore Made by `StreamReader.lines()`. */
  constructor(reader: StreamReader) {
    this._reader = reader;
  }

  /**
   * The next coroutine to `yield*`, until the stream has ended and been
   * read to the last byte.
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("only line\n"));
   * reader.feedEof();
   * await run(function* () {
   *   const it = reader.lines();
   *   console.log((yield* it.next().value!)!.length); // 10
   *   console.log(it.next().done); // true
   * });
   * ```
   */
  next(): IteratorResult<Coroutine<Uint8Array | null>, undefined> {
    const r = this._reader;
    if (r._exception === undefined && r.atEof()) return { done: true, value: undefined };
    return { done: false, value: r._nextLine() };
  }

  /**
   * The iterator itself, so that `for...of` works (and resumes where a
   * previous loop stopped).
   *
   * @example
   * ```ts
   * import { run, StreamReader } from "@aio/aio";
   * const reader = new StreamReader();
   * reader.feedData(new TextEncoder().encode("x\n"));
   * reader.feedEof();
   * await run(function* () {
   *   for (const next of reader.lines()) console.log(yield* next); // Uint8Array(2) [ 120, 10 ]
   * });
   * ```
   */
  [Symbol.iterator](): this {
    return this;
  }
}
