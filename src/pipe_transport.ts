// A child process's pipes as aio streams: its stdout and stderr (Deno
// ReadableStreams) feeding StreamReaders, and its stdin (a Deno WritableStream)
// as the sink of a StreamWriter. asyncio's `_UnixReadPipeTransport` and
// `_UnixWritePipeTransport`, on the streams `Deno.ChildProcess` hands out.
//
// Reading (`ReadPipe`): at most one read is in flight per pipe, with a BYOB
// reader over one 64 KiB buffer that travels back and forth (the stream
// transfers it to each read and hands it back with the result), so steady
// reading allocates nothing; the reader's `feedData` copies what came. A read
// that lands starts the next one unless the StreamReader paused reading (more
// than 2 x limit buffered); `resumeReading()` starts it again. A read in
// flight is an outside completion of the loop: the virtual clock does not
// jump past it. At the end of the stream Deno closes the pipe itself.
//
// One StreamReader may be fed by two pipes (`stderr: STDOUT` of
// `createSubprocessExec`: see subprocess.ts): `PipeReadTransport` owns the
// pipes of one reader, passes pause and resume to each, feeds their chunks in
// the order they land, and feeds EOF once every pipe has ended.
//
// Closing (`close()`) cancels what has not ended: Deno closes the pipe, the
// read in flight settles, and only then does the pipe count as released (so
// that a process is "finished" only once Deno holds nothing of it: the op and
// resource sanitizers see nothing left). The reader gets EOF after what it
// had buffered, unless it already had EOF or an error.

import type { EventLoop } from "./loop.ts";
import type { ReaderTransport, StreamReader } from "./stream_reader.ts";
import type { ByteSink } from "./stream_writer.ts";

// Bytes asked of the OS per read: as asyncio's max_size for a read pipe (256 KiB
// there; 64 KiB is what Deno's own pipe reads use).
const READ_SIZE = 65_536;

// Read buffers of released pipes, kept for the next pipes: a fresh 64 KiB
// buffer (zero-filled) was the largest cost of a short-lived child's pipe in
// a profile of spawn + communicate (about 10 us of each child).
const spareBuffers: ArrayBuffer[] = [];
const MAX_SPARE_BUFFERS = 16;

function takeBuffer(): ArrayBuffer {
  return spareBuffers.pop() ?? new ArrayBuffer(READ_SIZE);
}

/** What a ReadPipe reports to. */
interface PipeOwner {
  /** A chunk arrived; it is valid only until this returns (the buffer is reused). */
  _data(chunk: Uint8Array): void;
  /** The pipe reached EOF (`error` undefined) or failed; not called for a close(). */
  _pipeEnded(pipe: ReadPipe, error: unknown): void;
  /** Deno holds nothing of the pipe any more. Called once. */
  _pipeReleased(): void;
}

/** @internal One output pipe of a child; see the header. */
class ReadPipe {
  readonly #owner: PipeOwner;
  readonly #loop: EventLoop;
  readonly #reader: ReadableStreamBYOBReader;
  /** The read buffer; null while a read holds it. */
  #buf: ArrayBuffer | null = takeBuffer();
  #reading = false;
  #paused = false;
  /** The stream ended, failed, or close() was asked: no new read starts. */
  #stopped = false;
  /** Deno holds nothing of the pipe any more (reported to the owner once). */
  #released = false;
  #cancelled: Promise<void> | null = null;
  /** Whether #buf may go to spareBuffers once released. */
  #spare = true;

  constructor(owner: PipeOwner, loop: EventLoop, stream: ReadableStream<Uint8Array>) {
    this.#owner = owner;
    this.#loop = loop;
    this.#reader = stream.getReader({ mode: "byob" });
  }

  start(): void {
    this.#read();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#reading && !this.#stopped) this.#read();
  }

  /** Stops reading and lets Deno close the pipe; resolves once it has. */
  close(): Promise<void> {
    if (this.#cancelled !== null) return this.#cancelled;
    if (this.#stopped && !this.#reading) {
      this.#cancelled = Promise.resolve();
      return this.#cancelled;
    }
    this.#stopped = true;
    // A read cut short may still land in its buffer: that one is not spared.
    if (this.#reading) this.#spare = false;
    this.#cancelled = this.#reader.cancel().catch(() => {}).then(() => {
      if (!this.#reading) this.#release();
    });
    return this.#cancelled;
  }

  #read(): void {
    this.#reading = true;
    this.#loop._beginExternal();
    const view = new Uint8Array(this.#buf!);
    this.#buf = null;
    this.#reader.read(view).then(this.#onRead, this.#onReadError);
  }

  // Arrow fields: one closure per pipe, not one per read.
  #onRead = (r: ReadableStreamReadResult<Uint8Array>): void => {
    this.#reading = false;
    this.#loop._endExternal();
    if (r.value !== undefined) this.#buf = r.value.buffer as ArrayBuffer;
    if (r.done) {
      // The end of the stream (Deno closed the pipe), or the end a cancel made.
      const cancelled = this.#stopped;
      this.#stopped = true;
      this.#release();
      if (!cancelled) this.#owner._pipeEnded(this, undefined);
      return;
    }
    if (this.#stopped) {
      if (this.#cancelled !== null) this.#cancelled.then(() => this.#release());
      return;
    }
    this.#owner._data(r.value);
    if (!this.#paused && !this.#stopped) this.#read();
  };

  #onReadError = (e: unknown): void => {
    this.#reading = false;
    this.#loop._endExternal();
    const cancelled = this.#stopped;
    this.#stopped = true;
    // A read failed: Deno closed the pipe. Cancelled under the read: that is the close.
    this.#release();
    if (!cancelled) this.#owner._pipeEnded(this, e);
  };

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    const buf = this.#buf;
    // Spare it unless a read still holds it (then the stream detached it).
    if (
      this.#spare && buf !== null && buf.byteLength === READ_SIZE &&
      spareBuffers.length < MAX_SPARE_BUFFERS
    ) {
      spareBuffers.push(buf);
    }
    this.#buf = null;
    this.#owner._pipeReleased();
  }
}

/**
 * @internal The pipes feeding one StreamReader (one, or stdout and stderr
 * merged), and the reader's flow-control transport.
 */
export class PipeReadTransport implements ReaderTransport, PipeOwner {
  readonly reader: StreamReader;
  readonly #pipes: ReadPipe[];
  /** Pipes not yet at their end (EOF, error or close). */
  #open: number;
  /** Pipes Deno still holds. */
  #held: number;
  #closing: Promise<void> | null = null;
  /** Called once, when Deno holds none of the pipes any more. */
  readonly #onReleased: () => void;

  constructor(
    loop: EventLoop,
    streams: readonly ReadableStream<Uint8Array>[],
    reader: StreamReader,
    onReleased: () => void,
  ) {
    this.reader = reader;
    this.#onReleased = onReleased;
    this.#pipes = streams.map((s) => new ReadPipe(this, loop, s));
    this.#open = this.#held = this.#pipes.length;
    reader._setTransport(this);
    for (const p of this.#pipes) p.start();
  }

  pauseReading(): void {
    for (const p of this.#pipes) p.pause();
  }

  resumeReading(): void {
    for (const p of this.#pipes) p.resume();
  }

  /** Stops reading every pipe; resolves once Deno has closed them all. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closing = Promise.all(this.#pipes.map((p) => p.close())).then(() => {});
      this.#open = 0;
      const r = this.reader;
      if (!r._eof && r.exception() === undefined) r.feedEof();
    }
    return this.#closing;
  }

  /** Whether reading has ended (every pipe at EOF, failed, or closed). */
  isClosed(): boolean {
    return this.#open === 0;
  }

  _data(chunk: Uint8Array): void {
    this.reader.feedData(chunk);
  }

  _pipeEnded(_pipe: ReadPipe, error: unknown): void {
    if (this.#open === 0) return;
    if (error !== undefined) {
      // One pipe failed: the reader fails, and the other pipe, if any, goes.
      this.reader.setException(error);
      void this.close();
      return;
    }
    if (--this.#open === 0) this.reader.feedEof();
  }

  _pipeReleased(): void {
    if (--this.#held === 0) this.#onReleased();
  }

  toString(): string {
    return `<PipeReadTransport pipes=${this.#pipes.length}${this.isClosed() ? " closed" : ""}>`;
  }
}

/**
 * @internal A child's stderr copied into this process's stdout, for
 * `stderr: STDOUT` with an inherited stdout: each chunk is written out
 * before the next read starts (the pipe pauses meanwhile), so the child
 * slows down to the pace of our stdout. If our stdout fails, the rest is
 * dropped.
 */
export class StdoutPump implements PipeOwner {
  readonly #loop: EventLoop;
  readonly #pipe: ReadPipe;
  readonly #onReleased: () => void;
  /** The write to our stdout in flight, if any. */
  #writing: Promise<void> | null = null;
  #broken = false;

  constructor(loop: EventLoop, stream: ReadableStream<Uint8Array>, onReleased: () => void) {
    this.#loop = loop;
    this.#onReleased = onReleased;
    this.#pipe = new ReadPipe(this, loop, stream);
    this.#pipe.start();
  }

  _data(chunk: Uint8Array): void {
    if (this.#broken) return;
    this.#pipe.pause();
    this.#loop._beginExternal();
    // A copy: the pipe's buffer may be reused once the pipe is closed.
    this.#writing = writeAll(Deno.stdout, chunk.slice()).then(
      () => {},
      () => {
        this.#broken = true;
      },
    ).finally(() => {
      this.#writing = null;
      this.#loop._endExternal();
      this.#pipe.resume();
    });
  }

  _pipeEnded(): void {}

  _pipeReleased(): void {
    // The last chunk may still be on its way out: released once it is.
    if (this.#writing === null) this.#onReleased();
    else this.#writing.then(() => this.#onReleased());
  }

  /** Stops copying; resolves once the pipe is closed and the last write done. */
  close(): Promise<void> {
    return Promise.all([this.#pipe.close(), this.#writing]).then(() => {});
  }
}

async function writeAll(
  w: { write(p: Uint8Array): Promise<number> },
  p: Uint8Array,
): Promise<void> {
  for (let off = 0; off < p.length;) off += await w.write(p.subarray(off));
}

/**
 * @internal A child's stdin as the sink of a StreamWriter: writes go through
 * one writer of its WritableStream. `closeWrite()` (the StreamWriter's
 * `writeEof()`) and `close()` both close the pipe: a pipe has one direction.
 */
export class PipeWriteSink implements ByteSink {
  readonly #stream: WritableStream<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closing: Promise<void> | null = null;
  #writing = false;
  /** Called once, when Deno holds the pipe no more. */
  readonly #onReleased: () => void;
  #released = false;

  constructor(stream: WritableStream<Uint8Array>, onReleased: () => void) {
    this.#stream = stream;
    this.#writer = stream.getWriter();
    this.#onReleased = onReleased;
    // A failed write errors the stream, and Deno closes the pipe then.
    this.#writer.closed.then(() => this.#release(), () => this.#release());
  }

  async write(p: Uint8Array): Promise<number> {
    this.#writing = true;
    try {
      // Deno's pipe sink writes the whole chunk before it resolves.
      await this.#writer.write(p);
    } finally {
      this.#writing = false;
    }
    return p.length;
  }

  closeWrite(): Promise<void> {
    return this.#close(false);
  }

  close(): void {
    void this.#close(true);
  }

  /**
   * Closes the pipe, dropping nothing the StreamWriter has handed over (a
   * write in flight completes first); resolves once Deno has closed it.
   */
  closed(): Promise<void> {
    return this.#close(true);
  }

  #close(quiet: boolean): Promise<void> {
    if (this.#closing === null) {
      // The stream closes after a write in flight, as Streams order them.
      this.#closing = this.#writer.close();
    }
    return quiet ? this.#closing.catch(() => {}) : this.#closing;
  }

  /** Whether a write is in flight (it holds the pipe until it lands). */
  isWriting(): boolean {
    return this.#writing;
  }

  /** Whether Deno has closed the pipe (after a close, or a failed write). */
  isReleased(): boolean {
    return this.#released;
  }

  extra(name: string): unknown {
    return name === "pipe" || name === "transport" ? this.#stream : undefined;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onReleased();
  }
}
