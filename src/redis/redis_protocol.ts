// What a RedisExecutor and its worker processes put in Redis, and the Lua
// scripts that make each decision atomic. Both sides import this module; it
// holds names, message shapes and scripts, no state.
//
// Keys of queue Q (all under `aio:Q:`):
//
//   jobs         Stream, consumer group `aio`. One entry per job attempt,
//                fields below. An entry is XDEL'd once its job is decided
//                (answered, cancelled, handed back or reaped), so the stream
//                holds only jobs that wait or run. Redis tracks who holds each
//                delivered entry (the group's pending list) and for how long
//                it has been idle: that idle time is the dead-worker clock.
//   s:<job>      The job's state word, the one place where "queued" becomes
//                "started" or "cancelled" (whoever writes it first wins):
//                absent = not started; "c" = cancelled before it started;
//                "d" = answered (a copy of the entry resent after a Redis
//                failover must not run again); anything else = "<worker>
//                <entry>", the worker process running it from that entry (so
//                a start script resent after a lost reply finds its own mark,
//                and a resent copy of the entry does not). Every value expires.
//   r:<client>   Stream of result messages for one client; each add renews
//                its expiry (resultTtlMs), so a client that went away leaves
//                nothing. The client reads it from the last id it handled and
//                trims what it read: a reply lost with a connection (a Redis
//                restart) is read again, where a popped list item would be lost.
//   workers      Sorted set: worker process name → when its liveness expires.
//   cancel       Pub/sub channel: "<job> <mode>" asks the process running the
//                job to stop it.
//
// A job entry's fields: c (client id), j (job id, unique in the queue),
// r (retries left), a (attempt, from 1), dw (deadWorkerTimeoutMs), tt (result
// ttl, ms), m (the body: v8-serialized JobBody). The metadata is plain text so
// that the reaper script can read it; the body is opaque to Redis.

import type { Buffer } from "node:buffer";
import type { FnDef } from "../executor/protocol.ts";
import type { SerializedError } from "../executor/remote_error.ts";

/** The consumer group every worker process of a queue joins. */
export const GROUP = "aio";

/** Key prefix of queue `queue`. */
export function prefixOf(queue: string): string {
  return `aio:${queue}:`;
}

/** What a job carries besides its metadata. */
export interface JobBody {
  /** The function: source or module export (executor/protocol.ts). */
  f: FnDef;
  /** Arguments; for a chunk (J_CHUNK in fl), one array of items. */
  x: unknown[];
  /** Job flags (executor/protocol.ts: J_CHUNK). */
  fl: number;
  /** timeoutMs, or 0 for none. */
  t: number;
  /** cancelRunning of the client: "signal" or "terminate". */
  cm: "signal" | "terminate";
  /** cancelGraceMs of the client. */
  g: number;
}

/** Result statuses (R_OK, R_ERROR, R_CANCELLED as in executor/protocol.ts). */
export const R_STARTED = 3;

/**
 * A result entry has one field: `b`, v8-serialized `[job, status, value,
 * job, status, value, …]` from a worker, or `B`, text the reaper script
 * writes, `<job>\t<worker>` (the worker running it stopped answering and no
 * retry is left).
 */
export const BATCH_FIELD = "b";

// node:v8 is loaded with the first connection, not with aio: importing aio
// then loads no Node module (browser bundles and other runtimes need none).
let v8: {
  serialize(value: unknown): Buffer;
  deserialize(bytes: Uint8Array): unknown;
} | null = null;

/** Loads what encode and decode need; both throw until it has resolved. */
export async function loadCodec(): Promise<void> {
  v8 ??= await import("node:v8");
}

/** Encodes what v8 can clone; throws a DataCloneError otherwise. */
export function encode(value: unknown): Buffer {
  if (v8 === null) throw new Error("encode() before loadCodec()");
  try {
    return v8.serialize(value);
  } catch (e) {
    // Deno's node:v8 throws a plain Error; postMessage (the local pool) a DataCloneError.
    throw new DOMException((e as Error)?.message ?? String(e), "DataCloneError");
  }
}

/** Decodes `encode`'s output; throws on anything else. */
export function decode(bytes: Uint8Array): unknown {
  if (v8 === null) throw new Error("decode() before loadCodec()");
  return v8.deserialize(bytes);
}

/** An error's data as a job result carries it. */
export type ErrorValue = SerializedError;

/**
 * Client: adds jobs, one entry each, in one call (a command per job costs
 * the client more than Redis's work for it). ARGV: the field values c, j,
 * r, a, dw, tt, m of each job in turn. Returns the entry ids.
 */
export const ADD_SCRIPT = `
local out, n = {}, 0
for i = 1, #ARGV, 7 do
  n = n + 1
  out[n] = redis.call('XADD', KEYS[1], '*', 'c', ARGV[i], 'j', ARGV[i + 1], 'r', ARGV[i + 2],
    'a', ARGV[i + 3], 'dw', ARGV[i + 4], 'tt', ARGV[i + 5], 'm', ARGV[i + 6])
end
return out`;

/**
 * Worker: acknowledges and deletes answered entries and marks their jobs
 * answered ("d", so a copy resent after a failover does not run again).
 * KEYS: jobs stream; ARGV: prefix, then entry id, job id ('' for none), ttl
 * ms, for each entry.
 */
export const FINISH_SCRIPT = `
for i = 2, #ARGV, 3 do
  redis.call('XACK', KEYS[1], '${GROUP}', ARGV[i])
  redis.call('XDEL', KEYS[1], ARGV[i])
  if ARGV[i + 1] ~= '' then redis.call('SET', ARGV[1] .. 's:' .. ARGV[i + 1], 'd', 'PX', ARGV[i + 2]) end
end
return 0`;

/**
 * Worker: for each state key, starts the job if nobody did (marks it with
 * this worker's name and the entry) and returns 1, or returns 0 (cancelled,
 * answered, or started elsewhere or from another copy of the entry). Run
 * again after a lost reply, it gives the same answers.
 * KEYS: state keys; ARGV: worker name, ttl ms, then each key's entry id.
 */
export const START_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do
  local mark = ARGV[1] .. ' ' .. ARGV[i + 2]
  if redis.call('SET', k, mark, 'NX', 'PX', ARGV[2]) then out[i] = 1
  elseif redis.call('GET', k) == mark then out[i] = 1
  else out[i] = 0 end
end
return out`;

/**
 * Worker: takes up to ARGV[2] new entries without waiting and starts each as
 * START_SCRIPT does, in one call: a free thread waits one round trip for its
 * next job, not two. Returns `[entry id, fields, started (1 or 0)]` per
 * entry, or nil when none waits (the worker then blocks in XREADGROUP).
 * KEYS: jobs stream; ARGV: worker name, count, prefix, ttl ms.
 */
export const TAKE_SCRIPT = `
local r = redis.call('XREADGROUP', 'GROUP', '${GROUP}', ARGV[1], 'COUNT', ARGV[2], 'STREAMS', KEYS[1], '>')
if not r then return nil end
local out = {}
for i, e in ipairs(r[1][2]) do
  local id, raw, ok = e[1], e[2], 0
  local j, c
  for k = 1, #raw, 2 do
    if raw[k] == 'j' then j = raw[k + 1] elseif raw[k] == 'c' then c = raw[k + 1] end
  end
  if j and c then
    local key, mark = ARGV[3] .. 's:' .. j, ARGV[1] .. ' ' .. id
    if redis.call('SET', key, mark, 'NX', 'PX', ARGV[4]) then ok = 1
    elseif redis.call('GET', key) == mark then ok = 1 end
  end
  out[i] = {id, raw, ok}
end
return out`;

/**
 * Client: cancels a job. Not started: marks it cancelled, deletes its entry,
 * returns 1. Cancelled already: 1. Answered: 2. Running: publishes a stop
 * request to the process running it and returns 0.
 * KEYS: state key, jobs stream; ARGV: entry id, ttl ms, channel, message.
 */
export const CANCEL_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'c', 'PX', ARGV[2])
  if ARGV[1] ~= '' then redis.call('XDEL', KEYS[2], ARGV[1]) end
  return 1
elseif v == 'c' then return 1
elseif v == 'd' then return 2 end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 0`;

/**
 * Anyone (clients and workers, periodically): finds entries whose holder has
 * not refreshed them for their own deadWorkerTimeoutMs (field dw) and
 * settles each: with retries left, a new entry (attempt + 1) replaces it;
 * otherwise its client is told (a B message). Then forgets consumers with
 * nothing pending, so dead workers leave no trace in the group.
 * KEYS: jobs stream; ARGV: prefix, the shortest idle time (ms) worth a look
 * (entries idle less are not even listed), now (ms), batch.
 * Returns the number of entries settled.
 */
export const REAP_SCRIPT = `
local stream, prefix = KEYS[1], ARGV[1]
local pend = redis.call('XPENDING', stream, '${GROUP}', 'IDLE', ARGV[2], '-', '+', ARGV[4])
local n = 0
for _, p in ipairs(pend) do
  local id, consumer, idle = p[1], p[2], tonumber(p[3])
  local e = redis.call('XRANGE', stream, id, id)
  if #e == 0 then
    redis.call('XACK', stream, '${GROUP}', id)
  else
    local f = {}
    local raw = e[1][2]
    for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
    local dw = tonumber(f['dw'] or '0') or 0
    if f['j'] == nil or f['c'] == nil then
      redis.call('XACK', stream, '${GROUP}', id)
      redis.call('XDEL', stream, id)
    elseif idle >= dw then
      local left = tonumber(f['r'] or '0') or 0
      local tt = f['tt'] or '60000'
      if left > 0 then
        redis.call('XADD', stream, '*', 'c', f['c'], 'j', f['j'], 'r', tostring(left - 1),
          'a', tostring((tonumber(f['a'] or '1') or 1) + 1), 'dw', f['dw'], 'tt', tt, 'm', f['m'] or '')
        redis.call('DEL', prefix .. 's:' .. f['j'])
      else
        local rk = prefix .. 'r:' .. f['c']
        redis.call('XADD', rk, '*', 'B', f['j'] .. '\\t' .. consumer)
        redis.call('PEXPIRE', rk, tt)
        redis.call('SET', prefix .. 's:' .. f['j'], 'd', 'PX', tt)
      end
      redis.call('XACK', stream, '${GROUP}', id)
      redis.call('XDEL', stream, id)
      n = n + 1
    end
  end
end
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', stream, '${GROUP}')
if ok then
  for _, c in ipairs(consumers) do
    local name, pending, idle
    for i = 1, #c, 2 do
      if c[i] == 'name' then name = c[i + 1]
      elseif c[i] == 'pending' then pending = c[i + 1]
      elseif c[i] == 'idle' then idle = c[i + 1] end
    end
    if pending == 0 and idle > tonumber(ARGV[2]) then
      local live = redis.call('ZSCORE', prefix .. 'workers', name)
      if not live or tonumber(live) < tonumber(ARGV[3]) then
        redis.call('XGROUP', 'DELCONSUMER', stream, '${GROUP}', name)
      end
    end
  end
end
return n`;

/**
 * Worker, on a graceful stop: gives a job it took but did not start back to
 * the queue, as the same attempt (a new entry; the old one is acknowledged
 * and deleted; its state key cleared). KEYS: jobs stream, state key; ARGV: entry id.
 */
export const HAND_BACK_SCRIPT = `
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
redis.call('XACK', KEYS[1], '${GROUP}', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if #e == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', unpack(e[1][2]))
redis.call('DEL', KEYS[2])
return 1`;
