// asCompleted: take results in the order they arrive, not the order asked.
//
//   deno run examples/as_completed.ts
import { asCompleted, type Coroutine, run, sleep } from "../mod.ts";

/** Prints three results, quickest first. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const jobs = [sleep(3_000, "three"), sleep(1_000, "one"), sleep(2_000, "two")];
  let first = true;
  for (const next of asCompleted(jobs)) {
    const result = yield* next;
    log(first ? `the quickest result was: ${result}` : `the next quickest result was: ${result}`);
    first = false;
  }
}

if (import.meta.main) await run(main);
