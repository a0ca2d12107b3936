/**
 * A run's events in a Redis stream: the worker appends them in order, one entry per turn
 * of the event loop holding that turn's events as a JSON array, and any process reads them
 * with XREAD from the start. An event travels without what the stream already says: its
 * run id, and its labels when they are those of the event before in its entry (a 10-stage
 * run's 44 events are 4.9 KB of JSON instead of 8.1 KB; the reader puts both back).
 * @internal
 * @module
 */
import type { Redis } from 'ioredis';
import type { MacroEvent } from '../events.js';
import { eventJson, KEEP_SECONDS } from './keys.js';

/** An event as written to the stream: without its run id, and without labels unchanged since the event before in its entry. */
type Compact = Omit<MacroEvent, 'runId' | 'labels'> & { runId?: string; labels?: MacroEvent['labels'] };

/**
 * Appends a run's events to its stream. The events of one turn go in one entry (one
 * command and one round trip per turn, not per event: a 10-stage run's 44 events are
 * one or two entries); `close()` writes the last with the stream's expiry, and waits.
 */
export class EventWriter {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #runId: string;
  /**
   * The labels this entry's last event carried: the engine shares one frozen object while
   * they do not change. Each entry's first event carries them, so that an entry reads alone
   * (one before it may be lost, or written by another worker).
   */
  #labels: MacroEvent['labels'] | undefined;
  #pending: string[] = [];
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;
  /** Told of a write that failed: the run goes on, its stream is then incomplete. */
  readonly #onError: (error: unknown) => void;
  /** The stream's expiry once the run ends, in seconds. */
  readonly #keepSeconds: number;

  constructor(
    redis: Redis,
    runId: string,
    key: string,
    onError: (error: unknown) => void,
    keepSeconds = KEEP_SECONDS,
  ) {
    this.#redis = redis;
    this.#runId = runId;
    this.#key = key;
    this.#onError = onError;
    this.#keepSeconds = keepSeconds;
  }

  push(event: MacroEvent): void {
    // Left out by a rest copy: its JSON is 0.6 the length, copy and JSON 1.05x the whole event's JSON time.
    const { runId, labels, ...rest } = event;
    const compact: Compact = rest;
    if (runId !== this.#runId) compact.runId = runId;
    if (labels !== this.#labels) {
      compact.labels = labels;
      this.#labels = labels;
    }
    this.#pending.push(eventJson(compact as MacroEvent));
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
    this.#labels = undefined; // the next event begins an entry
    this.#flushing = this.#flushing
      .then(async () => {
        const pipeline = this.#redis.pipeline();
        // Joined, not stringified again: each event was made JSON when it happened.
        if (batch.length > 0) pipeline.xadd(this.#key, '*', 'c', `[${batch.join(',')}]`);
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
 * The events of run `runId`'s stream at `key`, from its first entry, as they come; ends
 * after `run:end`. `idle()` is asked after every `blockMs` without an entry: `true` ends
 * the iteration (the run is over, or gone, and its stream will not grow).
 */
export async function* readEvents(
  redis: Redis,
  runId: string,
  key: string,
  idle: () => Promise<boolean>,
  blockMs = 1_000,
): AsyncGenerator<MacroEvent> {
  const read = new EventReader(runId);
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
      for (const event of read.entry(fields)) {
        yield event;
        if (event.type === 'run:end') return;
      }
    }
  }
}

/** Makes a stream's entries events again, in their order: it keeps the labels of the event before. */
class EventReader {
  readonly #runId: string;
  #labels: MacroEvent['labels'] | undefined;

  constructor(runId: string) {
    this.#runId = runId;
  }

  /**
   * The events of one entry: `c`, a turn's events as a JSON array of compact events; `b`,
   * of whole events (earlier workers); `e`, one whole event (earlier still). A whole event
   * reads as a compact one whose run id and labels are there.
   */
  entry(fields: string[]): MacroEvent[] {
    const parsed: unknown = JSON.parse(fields[1] as string);
    const list = (fields[0] === 'e' ? [parsed] : parsed) as Compact[];
    const events: MacroEvent[] = [];
    for (const event of list) {
      // In the order the engine makes an event's fields: the run id and labels in their places.
      const { type, runId = this.#runId, seq, at, path, labels = this.#labels, ...rest } = event;
      this.#labels = labels;
      events.push({ type, runId, seq, at, path, labels, ...rest } as MacroEvent);
    }
    return events;
  }
}
