// A Deno connection (TCP, TLS, Unix) as one stream of aio: the owner of the
// connection, its read loop feeding a StreamReader, and the sink a
// StreamWriter writes to. asyncio's `_SelectorSocketTransport` with
// `StreamReaderProtocol`, on Deno's promise-based reads.
//
// Reading: at most one `conn.read()` is in flight. Each one that lands feeds
// the reader (a copy of what came, or for a large read into an empty reader
// the array itself, the next read going into a fresh one) and starts the
// next, unless the reader paused reading (more than 2 x limit buffered);
// `resumeReading()` starts it again. Deno reads take no AbortSignal: closing the connection is what ends
// an outstanding read, which then counts as EOF, not as an error. A read in
// flight is an outside completion of the loop: the virtual clock does not
// jump past it.
//
// Closing: `close()` is the one place the connection is closed, whoever asks
// (the writer, the server, the loop ending): it closes the Deno resource,
// feeds EOF to the reader unless an error or EOF came first, and leaves the
// loop's resource registry.

import type { EventLoop, LoopResource } from "./loop.ts";
import type { ReaderTransport, StreamReader } from "./stream_reader.ts";
import type { ByteSink } from "./stream_writer.ts";

// Bytes asked of the OS per read: as asyncio's max_size for a stream socket.
const READ_SIZE = 65_536;
// Reads of at least this many bytes are handed to the reader, not copied.
const ADOPT_MIN = 32_768;

/** @internal */
export class SocketTransport implements ReaderTransport, ByteSink, LoopResource {
  readonly conn: Deno.Conn;
  readonly reader: StreamReader;
  readonly loop: EventLoop;
  #buf = new Uint8Array(READ_SIZE);
  #reading = false;
  #paused = false;
  #closed = false;

  constructor(loop: EventLoop, conn: Deno.Conn, reader: StreamReader, tls: boolean) {
    this.loop = loop;
    this.conn = conn;
    this.reader = reader;
    if (!tls) this.closeWrite = () => conn.closeWrite();
    loop._resources.add(this);
    reader._setTransport(this);
    this.#read();
  }

  pauseReading(): void {
    this.#paused = true;
  }

  resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (!this.#reading && !this.#closed) this.#read();
  }

  #read(): void {
    this.#reading = true;
    this.loop._beginExternal();
    this.conn.read(this.#buf).then(this.#onRead, this.#onReadError);
  }

  // Arrow fields: one closure per connection, not one per read.
  #onRead = (n: number | null): void => {
    this.#reading = false;
    this.loop._endExternal();
    if (this.#closed) return;
    if (n === null) {
      this.reader.feedEof();
      return;
    }
    const got = this.#buf.subarray(0, n);
    // A large read into an empty reader becomes the reader's buffer, and the
    // next read gets a fresh array: a zeroed allocation instead of a zeroed
    // allocation (the reader's) plus a copy. Small reads are copied, so a
    // short message does not pay for zeroing 64 KiB.
    if (n >= ADOPT_MIN && this.reader._feedOwned(got)) this.#buf = new Uint8Array(READ_SIZE);
    else this.reader.feedData(got);
    if (!this.#paused && !this.#closed) this.#read();
  };

  #onReadError = (e: unknown): void => {
    this.#reading = false;
    this.loop._endExternal();
    // Closed under the read (by close()): that is EOF, fed by close().
    if (this.#closed) return;
    this.reader.setException(e);
  };

  write(p: Uint8Array): Promise<number> {
    return this.conn.write(p);
  }

  /** Half-close; TLS streams have none (as asyncio). */
  closeWrite?: () => Promise<void>;

  extra(name: string): unknown {
    switch (name) {
      case "peername":
        return this.conn.remoteAddr;
      case "sockname":
        return this.conn.localAddr;
      case "transport":
        return this.conn;
      default:
        return undefined;
    }
  }

  /** Closes the connection; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.loop._resources.delete(this);
    try {
      this.conn.close();
    } catch {
      // Already closed by Deno (the peer reset it): nothing left to release.
    }
    const r = this.reader;
    if (!r._eof && r.exception() === undefined) r.feedEof();
  }

  _closeForLoop(): void {
    this.close();
  }

  isClosed(): boolean {
    return this.#closed;
  }
}
