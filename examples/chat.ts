// A line-based chat server: every line a client sends goes to every other
// client. A client that vanishes (its connection reset, or closed mid-line)
// is dropped and the others go on: each connection is its own task, and a
// failed write to one client cannot stop the broadcast to the rest.
//
//   deno run --allow-net examples/chat.ts
import {
  type Coroutine,
  openConnection,
  run,
  startServer,
  type StreamReader,
  type StreamWriter,
} from "../mod.ts";

const decoder = new TextDecoder();

/** The chat room: its members' writers. */
export class Room {
  readonly members = new Map<StreamWriter, string>();

  /** Sends `line` to everyone but `from`; a member whose connection failed is dropped. */
  broadcast(line: string, from: StreamWriter | null): void {
    for (const w of this.members.keys()) {
      if (w === from) continue;
      if (w.isClosing()) {
        this.members.delete(w);
        continue;
      }
      try {
        w.write(line);
      } catch {
        this.members.delete(w); // writeEof() was called on it
      }
    }
  }
}

/** The server's handler: the first line is the member's name, then messages. */
export function chatHandler(room: Room) {
  return function* (reader: StreamReader, writer: StreamWriter): Coroutine<void> {
    const name = decoder.decode(yield* reader.readline()).trim() || "anonymous";
    room.members.set(writer, name);
    room.broadcast(`* ${name} joined\n`, writer);
    try {
      for (const next of reader.lines()) {
        const line = yield* next;
        if (line === null) break;
        // A last line without its newline: the client vanished mid-line.
        if (line[line.length - 1] !== 10) break;
        room.broadcast(`${name}: ${decoder.decode(line)}`, writer);
      }
    } catch {
      // The connection failed (reset by the peer): drop it like a goodbye.
    } finally {
      room.members.delete(writer);
      room.broadcast(`* ${name} left\n`, null);
    }
  };
}

/** Reads lines until `text` arrives; returns the chat lines heard on the way. */
function* hear(reader: StreamReader, text: string): Coroutine<string[]> {
  const heard: string[] = [];
  for (;;) {
    const line = decoder.decode(yield* reader.readline()).trimEnd();
    if (line === "") throw new Error(`the server closed before ${JSON.stringify(text)}`);
    if (!line.startsWith("*")) heard.push(line);
    if (line === text) return heard;
  }
}

/** Three clients chat; a fourth vanishes mid-line; the others carry on. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const room = new Room();
  const server = yield* startServer(chatHandler(room), "127.0.0.1", 0);
  const { port } = server.addrs[0] as Deno.NetAddr;
  const join = function* (name: string): Coroutine<[StreamReader, StreamWriter]> {
    const [reader, writer] = yield* openConnection("127.0.0.1", port);
    writer.write(`${name}\n`);
    return [reader, writer];
  };

  const [aliceIn, aliceOut] = yield* join("alice");
  const [bobIn, bobOut] = yield* join("bob");
  yield* hear(aliceIn, "* bob joined");
  // dave joins, says half a line and vanishes without a newline.
  const [, daveOut] = yield* join("dave");
  yield* hear(bobIn, "* dave joined");
  daveOut.write("I was about to say");
  daveOut.close();
  yield* hear(bobIn, "* dave left");
  const [carolIn, carolOut] = yield* join("carol");
  yield* hear(aliceIn, "* carol joined");

  aliceOut.write("hi all\n");
  yield* hear(bobIn, "alice: hi all");
  bobOut.write("hello alice\n");
  log(`alice heard: ${(yield* hear(aliceIn, "bob: hello alice")).join(" | ")}`);
  log(`carol heard: ${(yield* hear(carolIn, "bob: hello alice")).join(" | ")}`);
  log(`members: ${[...room.members.values()].join(", ")}`);

  for (const w of [aliceOut, bobOut, carolOut]) w.close();
  server.close();
  yield* server.waitClosed(); // every handler has seen its client go
  log(`members left: ${room.members.size}`);
}

if (import.meta.main) await run(main);
