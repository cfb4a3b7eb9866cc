// A pipeline of three programs, `printf … | sort | uniq -c`, run stage by
// stage with communicate(): each child's output is the next one's input. The
// word counts come out sorted by word.
//
//   deno run --allow-run examples/subprocess_pipeline.ts
import { type Coroutine, createSubprocessExec, DEVNULL, PIPE, run } from "../mod.ts";

const WORDS = ["pear", "apple", "fig", "apple", "pear", "apple"];

/** Runs `program args` with `input` on its stdin; evaluates to its stdout. */
function* stage(program: string, args: string[], input?: Uint8Array): Coroutine<Uint8Array> {
  const proc = yield* createSubprocessExec(program, args, {
    stdin: input === undefined ? DEVNULL : PIPE,
    stdout: PIPE,
  });
  const [out] = yield* proc.communicate(input);
  if (proc.returncode !== 0) throw new Error(`${program} exited with ${proc.returncode}`);
  return out!;
}

/** Counts WORDS with printf, sort and uniq -c; logs "count word" lines. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const listed = yield* stage("printf", ["%s\\n", ...WORDS]);
  const sorted = yield* stage("sort", [], listed);
  const counted = yield* stage("uniq", ["-c"], sorted);
  for (const line of new TextDecoder().decode(counted).split("\n")) {
    if (line.trim() !== "") log(line.trim().replace(/\s+/, " "));
  }
}

if (import.meta.main) await run(main);
