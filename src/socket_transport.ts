// A Deno connection (TCP, TLS, Unix) as one stream of aio: the owner of the
// connection, its read loop feeding a StreamReader, and the sink a
// StreamWriter writes to. asyncio's `_SelectorSocketTransport` with
// `StreamReaderProtocol`, on Deno's promise-based reads.
//
// Reading: at most one `conn.read()` is in flight. Each one that lands feeds
// the reader and starts the next. Into an empty reader, a large read (32 KiB
// or more) is handed over as the array itself, the next read going into a
// fresh one, and a medium one (4 KiB or more) as a copy of its own, which a
// read of everything then returns as it is; otherwise what came is copied
// into the reader's buffer. The next read starts unless the reader paused
// reading (more than 2 x limit buffered); `resumeReading()` starts it again.
// Deno reads take no AbortSignal: closing the connection is what ends an
// outstanding read, which then counts as EOF, not as an error. A read in
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
// Medium reads into an empty reader are handed over as a copy of their own,
// which a read of everything then takes without copying again.
const SLICE_MIN = 4096;

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
    const r = this.reader;
    if (n >= SLICE_MIN && r._head === r._tail && !r._eof) {
      // Into an empty reader: a large read becomes its buffer, and the next
      // read gets a fresh array (a zeroed allocation instead of a zeroed
      // allocation plus a copy); a medium one goes as a copy of its own,
      // which a read of everything returns without copying again. Small
      // reads are copied in below: they do not pay for an allocation each.
      if (n >= ADOPT_MIN) {
        r._feedOwned(got);
        this.#buf = new Uint8Array(READ_SIZE);
      } else {
        r._feedOwned(got.slice());
      }
    } else {
      r.feedData(got);
    }
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
