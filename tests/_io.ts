// Shared plumbing of the socket tests (streams, servers, HTTP): addresses,
// the test certificate, a real-clock run, and small handlers.
import {
  type Coroutine,
  type ExceptionContext,
  getRunningLoop,
  run,
  type Server,
  type StreamReader,
  type StreamWriter,
} from "../mod.ts";
import { CORE } from "./_util.ts";

export const HOST = "127.0.0.1";
export const CERT = Deno.readTextFileSync(new URL("./fixtures/tls/cert.pem", import.meta.url));
export const KEY = Deno.readTextFileSync(new URL("./fixtures/tls/key.pem", import.meta.url));
/** More than Linux lets a loopback connection hold in its kernel buffers when nobody reads (about 4 MiB). */
export const BIG = 16 << 20;

const dec = new TextDecoder();
/** UTF-8 text of `u`. */
export const text = (u: Uint8Array): string => dec.decode(u);

/** `run` on the core under test with the real clock (an OS read in flight holds the virtual one). */
export function rrun<T>(main: () => Coroutine<T>): Promise<T> {
  return run(main, { core: CORE, clock: "real" });
}

/** The port a TCP server listens on. */
export function portOf(server: Server): number {
  return (server.addrs[0] as Deno.NetAddr).port;
}

/** What the running loop's exception handler receives from now on. */
export function collectErrors(): ExceptionContext[] {
  const messages: ExceptionContext[] = [];
  getRunningLoop().setExceptionHandler((_loop, ctx) => {
    messages.push(ctx);
  });
  return messages;
}

/** A handler that echoes every line until EOF. */
export function* echoLines(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  for (const next of reader.lines()) {
    const line = yield* next;
    if (line === null) break;
    writer.write(line);
    yield* writer.drain();
  }
}

/** A Unix socket path in a new temporary directory, removed afterwards. */
export async function withSocketPath(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "aio_socket_" });
  try {
    await fn(`${dir}/s.sock`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Closes `writer`, then `server` if given, and waits for both. */
export function* closeAll(writer: StreamWriter, server?: Server): Coroutine<void> {
  writer.close();
  yield* writer.waitClosed();
  if (server !== undefined) {
    server.close();
    yield* server.waitClosed();
  }
}
