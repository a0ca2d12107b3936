/**
 * A run's events in a Redis stream: the worker appends them in order, one entry per turn
 * of the event loop holding that turn's events as a JSON array, and any process reads them
 * with XREAD from the start.
 * @internal
 * @module
 */
import type { Redis } from 'ioredis';
import type { MacroEvent } from '../events.js';
import { eventJson, KEEP_SECONDS } from './keys.js';

/**
 * Appends a run's events to its stream. The events of one turn go in one entry (one
 * command and one round trip per turn, not per event: a 10-stage run's 44 events are
 * one or two entries); `close()` writes the last with the stream's expiry, and waits.
 */
export class EventWriter {
  readonly #redis: Redis;
  readonly #key: string;
  #pending: string[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;
  /** Told of a write that failed: the run goes on, its stream is then incomplete. */
  readonly #onError: (error: unknown) => void;
  /** The stream's expiry once the run ends, in seconds. */
  readonly #keepSeconds: number;

  constructor(redis: Redis, key: string, onError: (error: unknown) => void, keepSeconds = KEEP_SECONDS) {
    this.#redis = redis;
    this.#key = key;
    this.#onError = onError;
    this.#keepSeconds = keepSeconds;
  }

  push(event: MacroEvent): void {
    this.#pending.push(eventJson(event));
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(last = false): void {
    const batch = this.#pending;
    if (batch.length === 0 && !last) return;
    this.#pending = [];
    this.#flushing = this.#flushing
      .then(async () => {
        const pipeline = this.#redis.pipeline();
        // Joined, not stringified again: each event was made JSON when it happened.
        if (batch.length > 0) pipeline.xadd(this.#key, '*', 'b', `[${batch.join(',')}]`);
        if (last) pipeline.expire(this.#key, this.#keepSeconds);
        const results = (await pipeline.exec()) ?? [];
        const failed = results.find(([error]) => error !== null);
        if (failed !== undefined) this.#onError(failed[0]);
      })
      .catch(this.#onError);
  }

  /** Writes what is pending, sets the stream to expire, and waits for both. */
  async close(): Promise<void> {
    this.#flush(true);
    await this.#flushing;
  }
}

/**
 * The events of the stream at `key`, from its first entry, as they come; ends after
 * `run:end`. `idle()` is asked after every `blockMs` without an entry: `true` ends the
 * iteration (the run is over, or gone, and its stream will not grow).
 */
export async function* readEvents(
  redis: Redis,
  key: string,
  idle: () => Promise<boolean>,
  blockMs = 1_000,
): AsyncGenerator<MacroEvent> {
  let last = '0-0';
  for (;;) {
    const reply = (await redis.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', key, last)) as
      | [string, [string, string[]][]][]
      | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) {
      if (await idle()) return;
      continue;
    }
    for (const [id, fields] of entries) {
      last = id;
      for (const event of entryEvents(fields)) {
        yield event;
        if (event.type === 'run:end') return;
      }
    }
  }
}

/** The events of one stream entry: `b`, a turn's events as a JSON array, or `e`, one event. */
function entryEvents(fields: string[]): MacroEvent[] {
  const json = fields[1] as string;
  return fields[0] === 'b' ? (JSON.parse(json) as MacroEvent[]) : [JSON.parse(json) as MacroEvent];
}
