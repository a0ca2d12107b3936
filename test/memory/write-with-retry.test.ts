import { pino } from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MacroError, PersistenceError } from '../../src/index.js';
import { writeWithRetry } from '../../src/memory/write-with-retry.js';

const policy = { retries: 3, factor: 2, minDelayMs: 100, maxDelayMs: 10_000, jitter: false };
const random = () => 0;

beforeEach(() => {
  vi.useFakeTimers();
});

/** A pino logger at `warn` whose lines are kept, parsed. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A write that fails its first `failures` calls with `error(n)`, recording when each call came. */
function failingWrite(failures: number, error: (n: number) => unknown = (n) => new Error(`fail ${n}`)) {
  const calls: number[] = [];
  const write = async () => {
    calls.push(Date.now());
    if (calls.length <= failures) throw error(calls.length);
  };
  return { write, calls };
}

describe('writeWithRetry', () => {
  it('resolves undefined after a write that succeeds, calling it once', async () => {
    const { write, calls } = failingWrite(0);
    await expect(
      writeWithRetry('saveResult', write, policy, random, pino({ level: 'silent' })),
    ).resolves.toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('retries until the write succeeds, waiting the backoff before each retry', async () => {
    const { write, calls } = failingWrite(3);
    const writing = writeWithRetry('saveResult', write, policy, random, pino({ level: 'silent' }));
    await vi.runAllTimersAsync();
    await expect(writing).resolves.toBeUndefined();
    const start = calls[0] as number;
    expect(calls.map((at) => at - start)).toEqual([0, 100, 300, 700]);
  });

  it('gives up after retries + 1 calls with a PersistenceError naming the operation and the last error', async () => {
    const { write, calls } = failingWrite(Number.POSITIVE_INFINITY);
    const writing = writeWithRetry('appendAudit', write, policy, random, pino({ level: 'silent' }));
    await vi.runAllTimersAsync();
    const failure = await writing;
    expect(calls).toHaveLength(4);
    expect(failure).toBeInstanceOf(PersistenceError);
    expect(failure).toMatchObject({ operation: 'appendAudit', message: 'Memory appendAudit failed: fail 4' });
  });

  it('does not retry a write the adapter refused as invalid (INVALID_OPTIONS)', async () => {
    const refusal = new MacroError('INVALID_OPTIONS', 'Invalid checkpoint given to X.saveCheckpoint');
    const { write, calls } = failingWrite(Number.POSITIVE_INFINITY, () => refusal);
    const failure = await writeWithRetry('saveCheckpoint', write, policy, random, pino({ level: 'silent' }));
    expect(calls).toHaveLength(1);
    expect(failure).toMatchObject({ operation: 'saveCheckpoint', cause: refusal });
  });

  it('calls the write once, without waiting, when retries is 0', async () => {
    const { write, calls } = failingWrite(Number.POSITIVE_INFINITY);
    const failure = await writeWithRetry(
      'saveResult',
      write,
      { ...policy, retries: 0 },
      random,
      pino({ level: 'silent' }),
    );
    expect(calls).toHaveLength(1);
    expect(failure?.cause).toMatchObject({ message: 'fail 1' });
  });

  it('retries a write that throws a TypeError, or rejects with a non-Error', async () => {
    const { write, calls } = failingWrite(2, (n) => (n === 1 ? new TypeError('socket') : 'busy'));
    const writing = writeWithRetry('saveResult', write, policy, random, pino({ level: 'silent' }));
    await vi.runAllTimersAsync();
    await expect(writing).resolves.toBeUndefined();
    expect(calls).toHaveLength(3);
  });

  it('treats a write that throws synchronously like one that rejects', async () => {
    let calls = 0;
    const write = () => {
      calls += 1;
      if (calls === 1) throw new Error('sync');
      return Promise.resolve();
    };
    const writing = writeWithRetry('saveResult', write, policy, random, pino({ level: 'silent' }));
    await vi.runAllTimersAsync();
    await expect(writing).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  it('goes on after a first attempt the caller made itself, counting it', async () => {
    const { write, calls } = failingWrite(Number.POSITIVE_INFINITY);
    const writing = writeWithRetry('saveCheckpoint', write, policy, random, pino({ level: 'silent' }), {
      error: new Error('first'),
    });
    await vi.runAllTimersAsync();
    await writing;
    expect(calls).toHaveLength(3);
  });

  it('logs each failed attempt at warn, then the final failure at error', async () => {
    const { logger, lines } = recordingLogger();
    const { write } = failingWrite(Number.POSITIVE_INFINITY);
    const writing = writeWithRetry('saveResult', write, { ...policy, retries: 2 }, random, logger);
    await vi.runAllTimersAsync();
    await writing;
    expect(lines.map((l) => [l['level'], l['msg'], l['operation'], l['attempt']])).toEqual([
      [40, 'memory write failed', 'saveResult', 1],
      [40, 'memory write failed', 'saveResult', 2],
      [50, 'memory write kept failing; the result is returned unsaved', 'saveResult', undefined],
    ]);
    expect(lines[2]?.['err']).toMatchObject({ message: 'fail 3' });
  });

  it('logs a hostile error without throwing', async () => {
    const { logger, lines } = recordingLogger();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const writing = writeWithRetry(
      'saveResult',
      () => Promise.reject(proxy),
      { ...policy, retries: 1 },
      random,
      logger,
    );
    await vi.runAllTimersAsync();
    await expect(writing).resolves.toBeInstanceOf(PersistenceError);
    expect(lines).toHaveLength(2);
  });
});
