// StreamReader without a socket: CPython's test_streams.py (3.13) ported where
// it applies to a reader fed by hand, plus cancellation (a cancelled read
// never loses data), flow control against a fake transport, lines(), and the
// buffer checked against a reference model. Virtual clock throughout.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  Event,
  getRunningLoop,
  RuntimeError,
  sleep,
  timeout,
  TimeoutError,
  ValueError,
  wait,
  waitFor,
} from "../mod.ts";
import { IncompleteReadError, LimitOverrunError } from "../src/errors.ts";
import { type ReaderTransport, StreamReader } from "../src/stream_reader.ts";
import { caught, DENO_ONLY, expectError, turn, vrun } from "./_util.ts";

const DATA = "line1\nline2\nline3\n";

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);

/** Asserts `actual` is a Uint8Array holding the UTF-8 bytes of `expected`. */
function eqBytes(actual: unknown, expected: string, what?: string): void {
  assert.ok(actual instanceof Uint8Array, `${what ?? "result"} is a Uint8Array`);
  assert.equal(dec.decode(actual), expected, what);
}

/** What the reader holds in its buffer, as text. */
function buffered(r: StreamReader): string {
  return dec.decode(r._peekBuffer());
}

/** A transport that records the flow-control calls it gets. */
class FakeTransport implements ReaderTransport {
  calls: string[] = [];
  /** Set while reading is allowed (a producer can wait on it). */
  reading: Event = new Event();
  constructor() {
    this.reading.set();
  }
  pauseReading(): void {
    this.calls.push("pause");
    this.reading.clear();
  }
  resumeReading(): void {
    this.calls.push("resume");
    this.reading.set();
  }
  toString(): string {
    return "<Transport>";
  }
}

function withTransport(limit: number): [StreamReader, FakeTransport] {
  const r = new StreamReader({ limit });
  const t = new FakeTransport();
  r._setTransport(t);
  return [r, t];
}

// ---- test_streams.py: feeding and read() ----------------------------------------

Deno.test("test_streams::test_feed_empty_data — nothing is buffered", () => {
  const r = new StreamReader();
  r.feedData(b(""));
  assert.equal(buffered(r), "");
});

Deno.test("test_streams::test_feed_nonempty_data — the bytes are buffered", () => {
  const r = new StreamReader();
  r.feedData(b(DATA));
  assert.equal(buffered(r), DATA);
});

Deno.test("test_streams::test_read_zero — empty bytes, the buffer untouched", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b(DATA));
    eqBytes(yield* r.read(0), "");
    assert.equal(buffered(r), DATA);
  }));

Deno.test("test_streams::test_read — waits for data, takes up to n", () =>
  vrun(function* () {
    const r = new StreamReader();
    const task = createTask(r.read(30));
    getRunningLoop().callSoon(() => r.feedData(b(DATA)));
    eqBytes(yield* task, DATA);
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_read_line_breaks — read(n) ignores line breaks and chunks", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("line1"));
    r.feedData(b("line2"));
    eqBytes(yield* r.read(5), "line1");
    assert.equal(buffered(r), "line2");
  }));

Deno.test("test_streams::test_read_eof — EOF while waiting: empty bytes", () =>
  vrun(function* () {
    const r = new StreamReader();
    const task = createTask(r.read(1024));
    getRunningLoop().callSoon(() => r.feedEof());
    eqBytes(yield* task, "");
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_read_until_eof — read() collects every chunk until EOF", () =>
  vrun(function* () {
    const r = new StreamReader();
    const task = createTask(r.read(-1));
    getRunningLoop().callSoon(() => {
      r.feedData(b("chunk1\n"));
      r.feedData(b("chunk2"));
      r.feedEof();
    });
    eqBytes(yield* task, "chunk1\nchunk2");
    assert.equal(buffered(r), "");
  }));

Deno.test("read() to EOF over many loop iterations and feeds, with the default n", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 4 });
    const loop = getRunningLoop();
    for (let i = 0; i < 20; i++) loop.callLater(i, () => r.feedData(b(`${i % 10}`)));
    loop.callLater(30, () => r.feedEof());
    eqBytes(yield* r.read(), "01234567890123456789");
    eqBytes(yield* r.read(), "", "read() at EOF");
  }));

Deno.test("test_streams::test_read_exception — set_exception makes the next read throw", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("line\n"));
    eqBytes(yield* r.read(2), "li");
    const boom = new ValueError();
    r.setException(boom);
    assert.equal(yield* caught(r.read(2)), boom, "even with data buffered");
  }));

Deno.test("test_streams::test_invalid_limit — limit <= 0 is a ValueError naming limit", () => {
  for (const limit of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => new StreamReader({ limit }), (e) => {
      assert.ok(e instanceof ValueError, `limit ${limit}: ${e}`);
      assert.match((e as Error).message, /limit/);
      return true;
    });
  }
  assert.throws(() => new StreamReader({ limit: "10" as unknown as number }), TypeError);
  assert.equal(new StreamReader({ limit: 1 })._limit, 1);
  assert.equal(new StreamReader()._limit, 65_536);
  assert.equal(new StreamReader({})._limit, 65_536);
});

Deno.test("test_streams::test_read_limit — read(n) is not bound by limit", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 3 });
    r.feedData(b("chunk"));
    eqBytes(yield* r.read(5), "chunk");
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_read_all_from_pipe_reader — limit 1, paused, read() resumes", () =>
  vrun(function* () {
    // The pipe's writer delivered everything (and was paused) before the read
    // started, as in CPython's test; read() must resume it, not deadlock.
    const [r, t] = withTransport(1);
    const pipe = createTask(function* () {
      for (const chunk of ["da", "ta", "!"]) {
        yield* t.reading.wait();
        r.feedData(b(chunk));
        yield* turn();
      }
      r.feedEof();
    }());
    yield* turn();
    yield* turn();
    assert.equal(buffered(r), "data");
    assert.deepEqual(t.calls, ["pause"]);
    eqBytes(yield* r.read(-1), "data!");
    assert.deepEqual(t.calls, ["pause", "resume"]);
    yield* pipe;
  }));

// ---- test_streams.py: readline() --------------------------------------------------

Deno.test("test_streams::test_readline — waits across chunks, keeps the rest", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("chunk1 "));
    const task = createTask(r.readline());
    getRunningLoop().callSoon(() => {
      r.feedData(b("chunk2 "));
      r.feedData(b("chunk3 "));
      r.feedData(b("\n chunk4"));
    });
    eqBytes(yield* task, "chunk1 chunk2 chunk3 \n");
    assert.equal(buffered(r), " chunk4");
  }));

Deno.test("test_streams::test_readline_limit_with_existing_data — over the limit: discarded", () =>
  vrun(function* () {
    let r = new StreamReader({ limit: 3 });
    r.feedData(b("li"));
    r.feedData(b("ne1\nline2\n"));
    yield* expectError(ValueError, () => r.readline());
    // The overlong line went through its \n; the next stays.
    assert.equal(buffered(r), "line2\n");

    r = new StreamReader({ limit: 3 });
    r.feedData(b("li"));
    r.feedData(b("ne1"));
    r.feedData(b("li"));
    yield* expectError(ValueError, () => r.readline());
    // No \n and more than the limit: the whole buffer is dropped.
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_at_eof — only after feedEof and the last byte read", () =>
  vrun(function* () {
    const r = new StreamReader();
    assert.equal(r.atEof(), false);
    r.feedData(b("some data\n"));
    assert.equal(r.atEof(), false);
    yield* r.readline();
    assert.equal(r.atEof(), false);
    r.feedData(b("some data\n"));
    r.feedEof();
    assert.equal(r.atEof(), false);
    yield* r.readline();
    assert.equal(r.atEof(), true);
  }));

Deno.test("test_streams::test_readline_limit — fed after the call; the limit is strict", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    let r = new StreamReader({ limit: 7 });
    loop.callSoon(() => {
      r.feedData(b("chunk1"));
      r.feedData(b("chunk2"));
      r.feedData(b("chunk3\n"));
      r.feedEof();
    });
    yield* expectError(ValueError, () => r.readline());
    assert.equal(buffered(r), "");

    r = new StreamReader({ limit: 7 });
    loop.callSoon(() => {
      r.feedData(b("chunk1"));
      r.feedData(b("chunk2\n"));
      r.feedData(b("chunk3\n"));
      r.feedEof();
    });
    yield* expectError(ValueError, () => r.readline());
    assert.equal(buffered(r), "chunk3\n");

    // The limit counts the line without its \n.
    r = new StreamReader({ limit: 7 });
    r.feedData(b("1234567\n"));
    eqBytes(yield* r.readline(), "1234567\n");
    assert.equal(buffered(r), "");

    r.feedData(b("12345678\n"));
    yield* expectError(ValueError, () => r.readline());
    assert.equal(buffered(r), "");

    r.feedData(b("12345678"));
    yield* expectError(ValueError, () => r.readline());
    assert.equal(buffered(r), "");
  }));

Deno.test("readline over the limit: ValueError caused by the LimitOverrunError, then the next line", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 4 });
    r.feedData(b("toolong\nok\n"));
    const e = yield* expectError(ValueError, () => r.readline());
    assert.ok(e.cause instanceof LimitOverrunError);
    assert.equal(e.cause.consumed, 7);
    eqBytes(yield* r.readline(), "ok\n");
  }));

Deno.test("test_streams::test_readline_nolimit_nowait — the line is buffered: no wait", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b(DATA.slice(0, 6)));
    r.feedData(b(DATA.slice(6)));
    eqBytes(yield* r.readline(), "line1\n");
    assert.equal(buffered(r), "line2\nline3\n");
  }));

Deno.test("test_streams::test_readline_eof — the partial last line", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("some data"));
    r.feedEof();
    eqBytes(yield* r.readline(), "some data");
  }));

Deno.test("test_streams::test_readline_empty_eof — empty bytes when nothing is left", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedEof();
    eqBytes(yield* r.readline(), "");
  }));

Deno.test("test_streams::test_readline_read_byte_count — read(n) after readline", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b(DATA));
    yield* r.readline();
    eqBytes(yield* r.read(7), "line2\nl");
    assert.equal(buffered(r), "ine3\n");
  }));

Deno.test("test_streams::test_readline_exception — the reader's exception is thrown", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("line\n"));
    eqBytes(yield* r.readline(), "line\n");
    r.setException(new ValueError());
    yield* expectError(ValueError, () => r.readline());
    assert.equal(buffered(r), "");
  }));

// ---- test_streams.py: readuntil() -------------------------------------------------

Deno.test("test_streams::test_readuntil_separator — an empty separator is a ValueError", () =>
  vrun(function* () {
    const r = new StreamReader();
    for (const sep of ["", new Uint8Array(0), [""], ["a", new Uint8Array(0)]]) {
      const e = yield* expectError(ValueError, () => r.readuntil(sep));
      assert.match(e.message, /separator should be at least one byte/);
    }
    // Python 3.13: an empty tuple of separators.
    const e = yield* expectError(ValueError, () => r.readuntil([]));
    assert.match(e.message, /at least one separator/);
    for (const bad of [5, null, [1]]) {
      yield* expectError(TypeError, () => r.readuntil(bad as unknown as string));
    }
  }));

Deno.test("test_streams::test_readuntil_multi_chunks — a multi-byte separator", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("lineAAA"));
    eqBytes(yield* r.readuntil("AAA"), "lineAAA");
    assert.equal(buffered(r), "");

    r.feedData(b("lineAAA"));
    eqBytes(yield* r.readuntil(b("AAA")), "lineAAA");
    assert.equal(buffered(r), "");

    r.feedData(b("lineAAAxxx"));
    eqBytes(yield* r.readuntil("AAA"), "lineAAA");
    assert.equal(buffered(r), "xxx");
  }));

Deno.test("test_streams::test_readuntil_multi_chunks_1 — separators split across feeds", () =>
  vrun(function* () {
    const r = new StreamReader();
    const cases: [string[], string][] = [
      [["QWEaa", "XYaa", "a"], "QWEaaXYaaa"],
      [["QWEaa", "XYa", "aa"], "QWEaaXYaaa"],
      [["aaa"], "aaa"],
      [["Xaaa"], "Xaaa"],
      [["XXX", "a", "a", "a"], "XXXaaa"],
    ];
    for (const [chunks, line] of cases) {
      for (const c of chunks) r.feedData(b(c));
      eqBytes(yield* r.readuntil("aaa"), line);
      assert.equal(buffered(r), "");
    }
    // The same, with each chunk arriving while readuntil waits.
    const loop = getRunningLoop();
    for (const [chunks, line] of cases) {
      chunks.forEach((c, i) => loop.callLater(i + 1, () => r.feedData(b(c))));
      eqBytes(yield* r.readuntil("aaa"), line, `waiting for ${chunks}`);
      assert.equal(buffered(r), "");
    }
  }));

Deno.test("test_streams::test_readuntil_eof — IncompleteReadError with everything left", () =>
  vrun(function* () {
    const r = new StreamReader();
    const data = "some dataAA";
    r.feedData(b(data));
    r.feedEof();
    const e = yield* expectError(IncompleteReadError, () => r.readuntil("AAA"));
    assert.match(e.message, /undefined expected bytes/);
    eqBytes(e.partial, data);
    assert.equal(e.expected, null);
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_readuntil_limit_found_sep — data stays buffered", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 3 });
    r.feedData(b("some dataAA"));
    let e = yield* expectError(LimitOverrunError, () => r.readuntil("AAA"));
    assert.match(e.message, /not found/);
    assert.equal(e.consumed, 9);
    assert.equal(buffered(r), "some dataAA");

    r.feedData(b("A"));
    e = yield* expectError(LimitOverrunError, () => r.readuntil("AAA"));
    assert.match(e.message, /is found/);
    assert.equal(e.consumed, 9);
    assert.equal(buffered(r), "some dataAAA");
    // Still all there: read it another way.
    eqBytes(yield* r.readexactly(e.consumed + 3), "some dataAAA");
  }));

Deno.test("readuntil: the limit overrun is found while waiting, and the data stays", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 5 });
    const loop = getRunningLoop();
    loop.callLater(1, () => r.feedData(b("abc")));
    loop.callLater(2, () => r.feedData(b("defgh")));
    const e = yield* expectError(LimitOverrunError, () => r.readuntil(";"));
    assert.equal(e.consumed, 8);
    assert.equal(buffered(r), "abcdefgh");
    assert.equal(r._waiter, null);
  }));

Deno.test("test_streams::test_readuntil_bytearray — a Uint8Array separator, copied", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("some data\r\n"));
    eqBytes(yield* r.readuntil(b("\r\n")), "some data\r\n");
    assert.equal(buffered(r), "");
    // The separator is copied when the read starts: changing it later has no effect.
    const sep = b(";");
    const task = createTask(r.readuntil(sep));
    yield* turn();
    sep[0] = 0x2c; // ","
    r.feedData(b("a,b;"));
    eqBytes(yield* task, "a,b;");
  }));

Deno.test("readuntil with a list of separators (3.13's tuple): earliest end wins, ties to the shortest", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("a\r\nb\nc;"));
    eqBytes(yield* r.readuntil(["\n", "\r\n"]), "a\r\n");
    eqBytes(yield* r.readuntil(["\r\n", "\n"]), "b\n");
    eqBytes(yield* r.readuntil([";", "\n"]), "c;");
    // Earliest end, not earliest start: "BB" ends before "AXXXA" does.
    r.feedData(b("AXBBXA"));
    eqBytes(yield* r.readuntil(["AXBBXA", "BB"]), "AXBB");
    eqBytes(yield* r.readexactly(2), "XA");
    r.feedData(b("xyz"));
    eqBytes(yield* r.readuntil(["yz", "z"]), "xyz");
    assert.equal(buffered(r), "");

    // Split across feeds, the long separator still matches.
    const loop = getRunningLoop();
    loop.callLater(1, () => r.feedData(b("--EN")));
    loop.callLater(2, () => r.feedData(b("D--")));
    eqBytes(yield* r.readuntil(["--END--", "\n"]), "--END--");

    // Limits: "\r\n" and "\n" end together, so "\n" (the shortest) is the
    // match, and the bytes before it include the "\r" (as CPython 3.13).
    const small = new StreamReader({ limit: 2 });
    small.feedData(b("abc\r\n"));
    const e = yield* expectError(LimitOverrunError, () => small.readuntil(["\r\n", "\n"]));
    assert.equal(e.consumed, 4);
    assert.match(e.message, /is found/);
  }));

Deno.test("readuntil: the default separator is \\n; strings are UTF-8", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("héllo\nwörld¦rest"));
    eqBytes(yield* r.readuntil(), "héllo\n");
    eqBytes(yield* r.readuntil("¦"), "wörld¦");
    assert.equal(buffered(r), "rest");
  }));

// ---- test_streams.py: readexactly() -----------------------------------------------

Deno.test("test_streams::test_readexactly_zero_or_less — 0: empty; < 0: ValueError", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b(DATA));
    eqBytes(yield* r.readexactly(0), "");
    assert.equal(buffered(r), DATA);
    const e = yield* expectError(ValueError, () => r.readexactly(-1));
    assert.match(e.message, /less than zero/);
    assert.equal(buffered(r), DATA);
  }));

Deno.test("test_streams::test_readexactly — waits until n bytes came, keeps the rest", () =>
  vrun(function* () {
    const r = new StreamReader();
    const n = 2 * DATA.length;
    const task = createTask(r.readexactly(n));
    getRunningLoop().callSoon(() => {
      r.feedData(b(DATA));
      r.feedData(b(DATA));
      r.feedData(b(DATA));
    });
    eqBytes(yield* task, DATA + DATA);
    assert.equal(buffered(r), DATA);
  }));

Deno.test("test_streams::test_readexactly_limit — readexactly is not bound by limit", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 3 });
    r.feedData(b("chunk"));
    eqBytes(yield* r.readexactly(5), "chunk");
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_readexactly_eof — IncompleteReadError with partial and expected", () =>
  vrun(function* () {
    const r = new StreamReader();
    const n = 2 * DATA.length;
    const task = createTask(r.readexactly(n));
    getRunningLoop().callSoon(() => {
      r.feedData(b(DATA));
      r.feedEof();
    });
    const e = yield* expectError(IncompleteReadError, () => task);
    eqBytes(e.partial, DATA);
    assert.equal(e.expected, n);
    assert.equal(e.message, "18 bytes read on a total of 36 expected bytes");
    assert.equal(buffered(r), "");
  }));

Deno.test("test_streams::test_readexactly_exception — the reader's exception is thrown", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("line\n"));
    eqBytes(yield* r.readexactly(2), "li");
    r.setException(new ValueError());
    yield* expectError(ValueError, () => r.readexactly(2));
  }));

// ---- test_streams.py: exceptions and the waiter -----------------------------------

Deno.test("test_streams::test_exception — exception() returns what setException set", () => {
  const r = new StreamReader();
  assert.equal(r.exception(), undefined);
  const exc = new ValueError();
  r.setException(exc);
  assert.equal(r.exception(), exc);
  assert.throws(() => r.setException(undefined), TypeError);
  assert.equal(r.exception(), exc);
});

Deno.test("test_streams::test_exception_waiter — the waiting read gets the exception", () =>
  vrun(function* () {
    const r = new StreamReader();
    const t1 = createTask(r.readline());
    const t2 = createTask(function* () {
      r.setException(new ValueError());
    }());
    yield* wait([t1, t2]);
    assert.throws(() => t1.result(), ValueError);
    assert.equal(r._waiter, null);
  }));

Deno.test("test_streams::test_exception_cancel — setException after a cancelled read", () =>
  vrun(function* () {
    const r = new StreamReader();
    const t = createTask(r.readline());
    yield* turn();
    t.cancel();
    yield* turn();
    // Fails if setException() is not careful with the cancelled waiter.
    r.setException(new RuntimeError("message"));
    yield* turn();
    assert.equal(r._waiter, null);
    assert.ok(t.cancelled());
  }));

Deno.test("setException while the waiter is cancelled but its task has not run yet", () =>
  vrun(function* () {
    const r = new StreamReader();
    const t = createTask(r.read(5));
    yield* turn();
    t.cancel();
    r.setException(new Error("late")); // the waiter is cancelled: not set
    r.feedData(b("x")); // nor woken
    assert.ok((yield* caught(t)) instanceof CancelledError);
    assert.equal(r._waiter, null);
    assert.equal(buffered(r), "x");
  }));

Deno.test("an exception set while no read waits reaches the next read that would wait", () =>
  vrun(function* () {
    const r = new StreamReader();
    const loop = getRunningLoop();
    // The feed wakes readexactly; the error comes before it runs again.
    loop.callLater(1, () => {
      r.feedData(b("ab"));
      r.setException(new Error("reset"));
    });
    const e = yield* caught(r.readexactly(5));
    assert.equal((e as Error).message, "reset");
    assert.equal(buffered(r), "ab");
  }));

Deno.test("one waiting read at a time: a second one is a RuntimeError (asyncio's 'already waiting')", () =>
  vrun(function* () {
    const r = new StreamReader();
    const first = createTask(r.readline());
    yield* turn();
    for (const second of [r.read(), r.read(3), r.readline(), r.readexactly(2), r.readuntil()]) {
      const e = yield* expectError(RuntimeError, () => second);
      assert.match(e.message, /already waiting for incoming data/);
    }
    // Reads that need not wait still work.
    eqBytes(yield* r.read(0), "");
    r.feedData(b("done\n"));
    eqBytes(yield* first, "done\n");
    // Once the first is cancelled, another may wait at once.
    const third = createTask(r.read(1));
    yield* turn();
    third.cancel();
    const fourth = createTask(r.read(1));
    yield* turn();
    r.feedData(b("z"));
    eqBytes(yield* fourth, "z");
    assert.ok(third.cancelled());
  }));

// ---- test_streams.py: repr ------------------------------------------------------------

Deno.test(
  "test_streams::test___repr__ — and each of its parts",
  DENO_ONLY,
  () =>
    vrun(function* () {
      assert.equal(String(new StreamReader()), "<StreamReader>");
      assert.equal(String(new StreamReader({ limit: 123 })), "<StreamReader limit=123>");
      let r = new StreamReader();
      r.feedEof();
      assert.equal(String(r), "<StreamReader eof>");
      r = new StreamReader();
      r.feedData(b("data"));
      assert.equal(String(r), "<StreamReader 4 bytes>");
      r = new StreamReader();
      r.setException(new RuntimeError());
      assert.equal(String(r), '<StreamReader exception=RuntimeError("")>');
      r = new StreamReader();
      const t = createTask(r.read(1));
      yield* turn();
      assert.equal(String(r), "<StreamReader waiter=<Future pending>>");
      r.feedData(b("x"));
      yield* t;
      assert.equal(String(r), "<StreamReader>");
      const [r2] = withTransport(1);
      assert.equal(String(r2), "<StreamReader limit=1 transport=<Transport>>");
      r2.feedData(b("abc"));
      assert.equal(String(r2), "<StreamReader 3 bytes limit=1 transport=<Transport> paused>");
      assert.equal(Deno.inspect(r2), String(r2));
    }),
);

// ---- Cancellation never loses data ------------------------------------------------

// Each read, cancelled while it waits with part of what it needs buffered:
// everything stays, the waiter is cleared, and the next read gets it all.
const PARTIAL_READS: [string, (r: StreamReader) => Coroutine<unknown>, string, string][] = [
  ["read(n)", (r) => r.read(100), "", "abc"],
  ["read()", (r) => r.read(), "abc", "abc"],
  ["readline()", (r) => r.readline(), "abc", "abc"],
  ["readexactly(n)", (r) => r.readexactly(10), "abc", "abc"],
  ["readuntil(sep)", (r) => r.readuntil("\r\n"), "abc\r", "abc\r"],
];

for (const [name, start, before, kept] of PARTIAL_READS) {
  Deno.test(`cancelling ${name} while it waits loses nothing`, () =>
    vrun(function* () {
      const r = new StreamReader();
      if (before) r.feedData(b(before));
      const t = createTask(start(r));
      yield* turn();
      assert.notEqual(r._waiter, null, "waiting");
      t.cancel();
      assert.ok((yield* caught(t)) instanceof CancelledError);
      assert.equal(r._waiter, null);
      if (!before) r.feedData(b(kept));
      assert.equal(buffered(r), kept);
      r.feedData(b("\r\n"));
      r.feedEof();
      eqBytes(yield* r.read(), kept + "\r\n", "the next read gets everything");
    }));

  Deno.test(`cancelling ${name} after data woke it, before it ran, loses nothing`, () =>
    vrun(function* () {
      const r = new StreamReader();
      if (before) r.feedData(b(before));
      const t = createTask(start(r));
      yield* turn();
      r.feedData(b("X"));
      t.cancel(); // the wake-up is already queued: the task sees the cancellation
      assert.ok((yield* caught(t)) instanceof CancelledError);
      assert.equal(r._waiter, null);
      assert.equal(buffered(r), before + "X");
      r.feedEof();
      eqBytes(yield* r.read(), before + "X");
    }));
}

Deno.test("waitFor and timeout on reads: the timed-out read leaves every byte buffered", () =>
  vrun(function* () {
    const r = new StreamReader();
    const loop = getRunningLoop();
    loop.callLater(5, () => r.feedData(b("hel")));
    loop.callLater(15, () => r.feedData(b("lo wor")));
    yield* expectError(TimeoutError, () => waitFor(r.readline(), 10));
    assert.equal(buffered(r), "hel");
    yield* expectError(TimeoutError, () => timeout(10, () => r.readexactly(100)));
    assert.equal(buffered(r), "hello wor");
    yield* expectError(TimeoutError, () => waitFor(r.readuntil("!"), 10));
    yield* expectError(TimeoutError, () => waitFor(r.read(), 10));
    assert.equal(buffered(r), "hello wor");
    loop.callLater(5, () => r.feedData(b("ld\n")));
    eqBytes(yield* waitFor(r.readline(), 10), "hello world\n");
  }));

Deno.test("a stream of random cancellations: every byte is read exactly once, in order", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 64 });
    const loop = getRunningLoop();
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let sent = "";
    for (let i = 0; i < 300; i++) {
      const line = `${i}:${"x".repeat(rand(20))}\n`;
      sent += line;
      // Sometimes split a line across feeds.
      const cut = rand(line.length);
      loop.callLater(i, () => r.feedData(b(line.slice(0, cut))));
      loop.callLater(i + 0.5, () => r.feedData(b(line.slice(cut))));
    }
    loop.callLater(301, () => r.feedEof());
    let got = "";
    while (!r.atEof()) {
      const op = rand(4);
      const aw = op === 0
        ? r.readline()
        : op === 1
        ? r.read(rand(30) + 1)
        : op === 2
        ? r.readuntil(":")
        : r.readexactly(rand(10) + 1);
      try {
        got += dec.decode(yield* waitFor(aw, rand(3) === 0 ? 0.25 : 2));
      } catch (e) {
        if (e instanceof IncompleteReadError) got += dec.decode(e.partial);
        else if (!(e instanceof TimeoutError)) throw e;
      }
    }
    assert.equal(got, sent);
  }));

// ---- Flow control -----------------------------------------------------------------

Deno.test("flow control: pauses above 2 x limit buffered, not at it", () =>
  vrun(function* () {
    const [r, t] = withTransport(4);
    r.feedData(b("12345678")); // 8 = 2 x limit
    assert.deepEqual(t.calls, []);
    r.feedData(b("9")); // 9 > 8
    assert.deepEqual(t.calls, ["pause"]);
    r.feedData(b("0")); // already paused: no second call
    assert.deepEqual(t.calls, ["pause"]);
    assert.equal(r._paused, true);
  }));

Deno.test("flow control: resumes when a read brings the buffer down to limit", () =>
  vrun(function* () {
    const [r, t] = withTransport(4);
    r.feedData(b("0123456789")); // 10: paused
    eqBytes(yield* r.read(3), "012"); // 7 left > 4
    assert.deepEqual(t.calls, ["pause"]);
    eqBytes(yield* r.readexactly(2), "34"); // 5 left > 4
    assert.deepEqual(t.calls, ["pause"]);
    eqBytes(yield* r.read(1), "5"); // 4 left = limit
    assert.deepEqual(t.calls, ["pause", "resume"]);
    eqBytes(yield* r.read(4), "6789");
    assert.deepEqual(t.calls, ["pause", "resume"]);
  }));

Deno.test("flow control: readline and readuntil resume too; readline's discard resumes", () =>
  vrun(function* () {
    const [r, t] = withTransport(4);
    r.feedData(b("ab\ncd;efgh\n")); // 11: paused
    eqBytes(yield* r.readline(), "ab\n"); // 8 left
    assert.deepEqual(t.calls, ["pause"]);
    eqBytes(yield* r.readuntil(";"), "cd;"); // 5 left
    assert.deepEqual(t.calls, ["pause"]);
    r.feedData(b("ijklmn\n")); // 12 left, still paused
    eqBytes(yield* r.readline(), "efgh\n"); // 4 bytes: within the limit; 7 left
    assert.deepEqual(t.calls, ["pause"]);
    yield* expectError(ValueError, () => r.readline()); // "ijklmn\n" is over: dropped
    assert.deepEqual(t.calls, ["pause", "resume"]);
    assert.equal(buffered(r), "");
  }));

Deno.test("flow control: a read that waits for more than is buffered resumes the transport", () =>
  vrun(function* () {
    const [r, t] = withTransport(2);
    r.feedData(b("12345")); // 5 > 4: paused
    assert.deepEqual(t.calls, ["pause"]);
    const task = createTask(r.readexactly(10));
    yield* turn();
    // Without the resume it would wait forever on a paused transport.
    assert.deepEqual(t.calls, ["pause", "resume"]);
    r.feedData(b("67890")); // wakes the read: no pause although 10 > 4
    assert.deepEqual(t.calls, ["pause", "resume"]);
    eqBytes(yield* task, "1234567890");
    assert.deepEqual(t.calls, ["pause", "resume"]);
  }));

Deno.test("flow control: a feed that wakes a read does not pause; the read pauses if it leaves too much", () =>
  vrun(function* () {
    const [r, t] = withTransport(4);
    const task = createTask(r.read(1));
    yield* turn();
    r.feedData(b("x".repeat(20))); // wakes the read
    assert.deepEqual(t.calls, []);
    eqBytes(yield* task, "x");
    // 19 left > 8 and nobody waits: paused by the read.
    assert.deepEqual(t.calls, ["pause"]);
    r.feedData(b("y")); // a feed nobody waits for, already paused
    assert.deepEqual(t.calls, ["pause"]);
  }));

Deno.test("flow control: readexactly far above 2 x limit never pauses while it waits", () =>
  vrun(function* () {
    const [r, t] = withTransport(2);
    const loop = getRunningLoop();
    for (let i = 0; i < 50; i++) loop.callLater(i, () => r.feedData(b("ab")));
    eqBytes(yield* r.readexactly(100), "ab".repeat(50));
    assert.deepEqual(t.calls, []);
  }));

Deno.test("flow control: a producer that honours pause keeps the buffer near 2 x limit", () =>
  vrun(function* () {
    const limit = 16;
    const [r, t] = withTransport(limit);
    let maxBuffered = 0;
    const producer = createTask(function* () {
      for (let i = 0; i < 1000; i++) {
        yield* t.reading.wait();
        r.feedData(b("0123456789"));
        maxBuffered = Math.max(maxBuffered, r._tail - r._head);
        yield* turn();
      }
      r.feedEof();
    }());
    let total = 0;
    for (let i = 0;; i++) {
      // A slow consumer: 7 bytes at a time, sleeping now and then.
      const chunk = yield* r.read(7);
      if (chunk.length === 0) break;
      total += chunk.length;
      if (i % 3 === 0) yield* sleep(1);
    }
    yield* producer;
    assert.equal(total, 10_000);
    assert.ok(maxBuffered <= 2 * limit + 10, `at most 2 x limit + one chunk, saw ${maxBuffered}`);
    assert.ok(t.calls.length > 2 && t.calls[0] === "pause", "it did pause and resume");
  }));

Deno.test("flow control: no transport, no calls; _setTransport twice is a RuntimeError; null detaches", () => {
  const r = new StreamReader({ limit: 1 });
  r.feedData(b("12345"));
  assert.equal(r._paused, false);
  const t = new FakeTransport();
  r._setTransport(t);
  assert.throws(() => r._setTransport(new FakeTransport()), RuntimeError);
  r.feedData(b("6"));
  assert.deepEqual(t.calls, ["pause"]);
  r._setTransport(null);
  assert.equal(r._paused, false);
  r.feedData(b("7"));
  assert.deepEqual(t.calls, ["pause"]);
});

// ---- lines() ----------------------------------------------------------------------

Deno.test("lines(): one for...of loop; ends by itself at EOF", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("a\nbb\nccc"));
    r.feedEof();
    const seen: string[] = [];
    for (const next of r.lines()) {
      const line = yield* next;
      if (line === null) break;
      seen.push(dec.decode(line));
    }
    assert.deepEqual(seen, ["a\n", "bb\n", "ccc"]);
    assert.equal(r.lines().next().done, true);
  }));

Deno.test("lines(): lines arriving over time; null when EOF comes while waiting", () =>
  vrun(function* () {
    const r = new StreamReader();
    const loop = getRunningLoop();
    loop.callLater(1, () => r.feedData(b("one\ntw")));
    loop.callLater(2, () => r.feedData(b("o\n")));
    loop.callLater(3, () => r.feedEof());
    const seen: (string | null)[] = [];
    let rounds = 0;
    for (const next of r.lines()) {
      rounds++;
      const line = yield* next;
      seen.push(line === null ? null : dec.decode(line));
    }
    // Without a break, the null is seen once and the loop ends.
    assert.deepEqual(seen, ["one\n", "two\n", null]);
    assert.equal(rounds, 3);
  }));

Deno.test("lines(): errors come from yield* next; iteration stops and resumes", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 3 });
    r.feedData(b("ab\ntoo long\ncd\n"));
    const it = r.lines();
    eqBytes(yield* it.next().value!, "ab\n");
    yield* expectError(ValueError, () => it.next().value!);
    for (const next of it) {
      eqBytes(yield* next, "cd\n");
      break;
    }
    r.setException(new Error("gone"));
    const res = it.next();
    assert.equal(res.done, false, "an exception is not the end: it is thrown");
    assert.equal(((yield* caught(res.value!)) as Error).message, "gone");
  }));

// ---- Arguments, copies, laziness, loops -------------------------------------------

Deno.test("bad arguments: TypeError for non-integer counts and non-bytes data", () =>
  vrun(function* () {
    const r = new StreamReader();
    for (const n of [1.5, NaN, "3", Infinity]) {
      yield* expectError(TypeError, () => r.read(n as number));
      yield* expectError(TypeError, () => r.readexactly(n as number));
    }
    for (const data of ["text", [1, 2], null, new ArrayBuffer(2)]) {
      assert.throws(() => r.feedData(data as unknown as Uint8Array), TypeError);
    }
    assert.equal(buffered(r), "");
  }));

Deno.test("feedData after feedEof is a RuntimeError; feedEof twice is fine", () => {
  const r = new StreamReader();
  r.feedEof();
  r.feedEof();
  assert.throws(() => r.feedData(b("x")), RuntimeError);
  assert.throws(() => r.feedData(b("")), RuntimeError);
});

Deno.test("feedData copies its input; results are arrays of their own", () =>
  vrun(function* () {
    const r = new StreamReader();
    const src = b("abcdef");
    r.feedData(src);
    src.fill(0);
    const first = yield* r.read(3);
    eqBytes(first, "abc");
    assert.equal(first.byteOffset, 0);
    assert.equal(first.buffer.byteLength, 3);
    first.fill(0);
    eqBytes(yield* r.read(3), "def");
  }));

Deno.test("reads are lazy coroutines: nothing is consumed until awaited", () =>
  vrun(function* () {
    const r = new StreamReader();
    r.feedData(b("abc\n"));
    r.read();
    r.readline();
    r.readexactly(2);
    r.readuntil("c");
    r.readexactly(-1); // the ValueError too comes only when awaited
    assert.equal(buffered(r), "abc\n");
  }));

Deno.test("a reader binds to the loop of its first wait", async () => {
  const r = new StreamReader();
  await vrun(function* () {
    getRunningLoop().callSoon(() => r.feedData(b("x")));
    eqBytes(yield* r.read(1), "x");
  });
  await vrun(function* () {
    r.feedData(b("y"));
    eqBytes(yield* r.read(1), "y", "no wait: no loop needed");
    yield* expectError(RuntimeError, () => r.read(1));
  });
});

// ---- The buffer -------------------------------------------------------------------

Deno.test("buffer: 100,000 one-byte feeds read as they come stay in a small array", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 1024 });
    const one = new Uint8Array(1);
    let total = 0;
    for (let i = 0; i < 100_000; i++) {
      one[0] = i & 0xff;
      r.feedData(one);
      if (i % 37 === 36) {
        const got = yield* r.read(1000);
        assert.equal(got[got.length - 1], i & 0xff);
        total += got.length;
      }
    }
    total += (yield* r.read(1000)).length;
    assert.equal(total, 100_000);
    assert.ok(r._buf.length <= 4096, `capacity ${r._buf.length}`);
  }));

Deno.test("buffer: an array handed over (_feedOwned) is kept only by an empty reader, and reads stay intact", () =>
  vrun(function* () {
    const r = new StreamReader();
    const first = new Uint8Array(5000).map((_, i) => i & 0xff);
    assert.equal(r._feedOwned(first), true, "an empty reader keeps the array");
    assert.equal(r._buf, first);
    const head = yield* r.readexactly(3);
    assert.deepEqual([...head], [0, 1, 2]);
    // Not empty now: the array is refused, and the caller feeds a copy.
    const more = new Uint8Array(10).fill(7);
    assert.equal(r._feedOwned(more), false);
    r.feedData(more);
    more.fill(9); // the caller may reuse its array after feedData
    const rest = yield* r.read(100_000);
    assert.equal(rest.length, 5007);
    assert.deepEqual([...rest.subarray(0, 3)], [3, 4, 5]);
    assert.deepEqual([...rest.subarray(4997)], [7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
    // A read of a whole handed-over array takes that array, without a copy;
    // later feeds go elsewhere, so what it returned never changes.
    const second = new Uint8Array(6000).fill(1);
    assert.equal(r._feedOwned(second), true);
    const all = yield* r.read(65_536);
    assert.equal(all.buffer, second.buffer, "the same memory, not a copy");
    r.feedData(new Uint8Array(6000).fill(2));
    assert.equal((yield* r.read(65_536)).every((x) => x === 2), true);
    assert.equal(all.every((x) => x === 1), true);
    r.feedEof();
    assert.equal(r._feedOwned(new Uint8Array(1)), false, "nothing is kept after EOF");
  }));

Deno.test("buffer: 1,000,000 bytes in 1-byte chunks, then one readexactly (linear, not quadratic)", () =>
  vrun(function* () {
    const r = new StreamReader();
    const one = new Uint8Array(1);
    const n = 1_000_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      one[0] = i % 251;
      r.feedData(one);
    }
    const all = yield* r.readexactly(n);
    const ms = performance.now() - t0;
    for (let i = 0; i < n; i += 9973) assert.equal(all[i], i % 251);
    // Quadratic copying would take minutes; linear takes milliseconds.
    assert.ok(ms < 5_000, `${ms} ms`);
    // A buffer grown that large is dropped once empty.
    assert.equal(r._buf.length, 0);
  }));

Deno.test("buffer: a long line arriving in small chunks is searched once (readuntil remembers)", () =>
  vrun(function* () {
    const r = new StreamReader({ limit: 1 << 20 });
    const loop = getRunningLoop();
    const chunk = b("y".repeat(100));
    for (let i = 0; i < 2000; i++) loop.callLater(i, () => r.feedData(chunk));
    loop.callLater(2000, () => r.feedData(b("END")));
    const t0 = performance.now();
    const line = yield* r.readuntil("END");
    assert.equal(line.length, 200_003);
    assert.ok(performance.now() - t0 < 5_000);
  }));

/** The reference model's `readuntil`: earliest end, ties to the shortest. */
function modelFind(s: string, seps: string[]): [number, number] | null {
  let best: [number, number] | null = null;
  for (const sep of [...seps].sort((x, y) => x.length - y.length)) {
    const i = s.indexOf(sep);
    if (i >= 0 && (best === null || i + sep.length < best[1])) best = [i, i + sep.length];
  }
  return best;
}

Deno.test("buffer: random feeds and reads agree with a string model (slides, growth, shrink)", () =>
  vrun(function* () {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    const limit = 50;
    const r = new StreamReader({ limit });
    let model = "";
    const alphabet = "ab\r\n;";
    for (let step = 0; step < 20_000; step++) {
      const op = rand(6);
      if (op === 0 || model.length === 0) {
        let s = "";
        const len = rand(3) === 0 ? rand(3000) : rand(40);
        for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
        r.feedData(b(s));
        model += s;
      } else if (op === 1) {
        const n = rand(60) + 1;
        eqBytes(yield* r.read(n), model.slice(0, n));
        model = model.slice(n);
      } else if (op === 2) {
        const n = rand(model.length) + 1;
        eqBytes(yield* r.readexactly(n), model.slice(0, n));
        model = model.slice(n);
      } else {
        const seps = op === 3 ? ["\r\n", "\n"] : op === 4 ? [";"] : ["\n;", "a;", "b"];
        const m = modelFind(model, seps);
        if (m === null) continue; // it would wait
        if (m[0] > limit) {
          const e = yield* expectError(LimitOverrunError, () => r.readuntil(seps));
          assert.equal(e.consumed, m[0]);
          eqBytes(yield* r.readexactly(m[1]), model.slice(0, m[1]));
        } else {
          eqBytes(yield* r.readuntil(seps), model.slice(0, m[1]));
        }
        model = model.slice(m[1]);
      }
      assert.equal(r._tail - r._head, model.length);
    }
    r.feedEof();
    eqBytes(yield* r.read(), model);
    assert.ok(r.atEof());
  }));
