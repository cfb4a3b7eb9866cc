/**
 * aio: Python's asyncio, and its concurrent.futures executors, for Deno.
 *
 * Coroutines are generator functions: `function*` for `async def`, `yield*`
 * for `await`. The loop steps them itself, so cancellation lands at every
 * suspension point and `finally` blocks run, as in Python.
 *
 * @example
 * ```ts
 * import { createTask, run, sleep } from "@aio/aio";
 *
 * function* sayAfter(ms: number, what: string) {
 *   yield* sleep(ms);
 *   console.log(what);
 * }
 *
 * await run(function* () {
 *   const a = createTask(sayAfter(100, "hello"));
 *   const b = createTask(sayAfter(200, "world"));
 *   yield* a;
 *   yield* b; // 200 ms in all, not 300
 * });
 * ```
 *
 * @module
 */
export {
  BrokenBarrierError,
  BrokenWorkerError,
  CancelledError,
  ExceptionGroup,
  IncompleteReadError,
  InvalidStateError,
  KeyboardInterrupt,
  LimitOverrunError,
  LookupError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  TimeoutError,
  ValueError,
} from "./src/errors.ts";
export { Context, ContextVar, copyContext, Token } from "./src/context.ts";
export { type DoneCallback, Future } from "./src/future.ts";
export {
  captureCallGraph,
  formatCallGraph,
  formatTasks,
  type FrameCallGraphEntry,
  type FutureCallGraph,
  printCallGraph,
  type TaskDump,
} from "./src/graph.ts";
export {
  allTasks,
  type Awaitable,
  type Coroutine,
  createEagerTaskFactory,
  createTask,
  currentTask,
  eagerTaskFactory,
  ensureFuture,
  Task,
  type TaskConstructor,
  type TaskFactory,
  type TaskOptions,
} from "./src/task.ts";
export {
  EventLoop,
  type EventLoopOptions,
  type ExceptionContext,
  type ExceptionHandler,
  type Executor,
  Handle,
  newEventLoop,
  TimerHandle,
} from "./src/loop.ts";
export { getRunningLoop } from "./src/running.ts";
export { run, type RunOptions } from "./src/run.ts";
export { Runner } from "./src/runner.ts";
export { sleep } from "./src/sleep.ts";
export { fromPromise } from "./src/from_promise.ts";
export type { CoreKind } from "./src/scheduler/types.ts";
export type { AwaitableResult } from "./src/awaitables.ts";
export {
  gather,
  type GatherOptions,
  type GatherResults,
  type GatherSettledResults,
} from "./src/gather.ts";
export {
  ALL_COMPLETED,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  type ReturnWhen,
  wait,
  type WaitOptions,
} from "./src/wait.ts";
export { waitFor } from "./src/wait_for.ts";
export { shield } from "./src/shield.ts";
export { asCompleted, AsCompletedIterator, type AsCompletedOptions } from "./src/as_completed.ts";
export { Timeout, timeout, timeoutAt, type TimeoutBody } from "./src/timeout.ts";
export { TaskGroup, taskGroup, type TaskGroupBody } from "./src/task_group.ts";
export { Lock } from "./src/lock.ts";
export { Event } from "./src/event.ts";
export { Condition } from "./src/condition.ts";
export { BoundedSemaphore, Semaphore } from "./src/semaphore.ts";
export { Barrier } from "./src/barrier.ts";
export { Guard, type ScopedBody } from "./src/guard.ts";
export { type Compare, LifoQueue, PriorityQueue, Queue } from "./src/queue.ts";
export {
  type Job,
  type MapOptions,
  type PoolStats,
  type SubmitOptions,
  WorkerPoolExecutor,
  type WorkerPoolOptions,
} from "./src/executor/pool.ts";
export { MapResults } from "./src/executor/map.ts";
export {
  type JobFunction,
  type JobResult,
  WorkerFunction,
  workerFunction,
} from "./src/executor/function.ts";
export { transfer } from "./src/executor/transfer.ts";
export { currentJob, JobContext, jobSignal } from "./src/executor/job_context.ts";
export { toThread } from "./src/to_thread.ts";
export {
  StreamLineIterator,
  StreamReader,
  type StreamReaderOptions,
  type StreamSeparator,
} from "./src/stream_reader.ts";
export { StreamWriter } from "./src/stream_writer.ts";
export {
  openConnection,
  type OpenConnectionOptions,
  openUnixConnection,
  type OpenUnixConnectionOptions,
  type TlsClientOptions,
} from "./src/streams.ts";
export {
  type ClientConnectedHandler,
  Server,
  startServer,
  type StartServerOptions,
  startUnixServer,
  type StartUnixServerOptions,
} from "./src/server.ts";
export { taskSignal } from "./src/task_signal.ts";
export {
  type HttpHandler,
  HttpServer,
  serve,
  type ServeOptions,
  type ServeUnixOptions,
} from "./src/http.ts";
export {
  createSubprocessExec,
  createSubprocessShell,
  DEVNULL,
  PIPE,
  Process,
  STDOUT,
  type SubprocessOptions,
  type SubprocessStdio,
} from "./src/subprocess.ts";
export {
  RedisExecutor,
  type RedisExecutorOptions,
  type RedisExecutorStats,
  type RedisQueueStats,
  type RedisSubmitOptions,
} from "./src/redis/redis_executor.ts";
export { runWorker, type RunWorkerOptions } from "./src/redis/redis_worker.ts";
