import { afterEach, describe, expect, it, vi } from 'vitest';
import { MacroError } from '../../src/errors.js';
import { PersistenceError } from '../../src/index.js';
import { HeldLeases, leaseLost, leaseRefusal, leaseSettings, runLeased } from '../../src/memory/lease.js';
import { PostgresMemory } from '../../src/postgres.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('HeldLeases', () => {
  it('starts no heartbeat for a lease taken after close (a write in flight when the adapter closed)', () => {
    vi.useFakeTimers();
    const leases = new HeldLeases(3_000, async () => []);
    leases.close();
    leases.hold('r1', 1);
    expect([vi.getTimerCount(), leases.token('r1')]).toEqual([0, 1]);
  });

  it('renews what it holds every third of the lease', async () => {
    vi.useFakeTimers();
    const renew = vi.fn(async (held: ReadonlyMap<string, number>) => [...held.keys()]);
    const leases = new HeldLeases(3_000, renew);
    leases.hold('r1', 4);
    await vi.advanceTimersByTimeAsync(999);
    expect(renew).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(renew).toHaveBeenCalledWith(new Map([['r1', 4]]));
    leases.stop();
  });

  it('stops holding a lease the renewal did not keep', async () => {
    const leases = new HeldLeases(3_000, async () => ['r1']);
    leases.hold('r1', 1);
    leases.hold('r2', 1);
    await leases.beat();
    expect([leases.holds('r1'), leases.holds('r2')]).toEqual([true, false]);
    leases.stop();
  });

  it('keeps the token of a lease it let go, so its own later writes are still fenced by it', () => {
    const leases = new HeldLeases(3_000, async () => []);
    leases.hold('r1', 3);
    leases.release('r1');
    expect([leases.holds('r1'), leases.token('r1'), leases.token('never')]).toEqual([false, 3, null]);
  });

  it('remembers the tokens of the last 10,000 leases let go, forgetting the oldest', () => {
    const leases = new HeldLeases(3_000, async () => []);
    for (let i = 0; i <= 10_000; i++) {
      leases.hold(`r${i}`, i + 1);
      leases.release(`r${i}`);
    }
    expect([leases.token('r0'), leases.token('r1'), leases.token('r10000')]).toEqual([null, 2, 10_001]);
  });

  it('keeps a lease taken again with a new token while its renewal was in flight', async () => {
    let finish: (kept: string[]) => void = () => {};
    const leases = new HeldLeases(3_000, () => new Promise<string[]>((resolve) => (finish = resolve)));
    leases.hold('r1', 1);
    const beat = leases.beat();
    leases.hold('r1', 2);
    finish([]);
    await beat;
    expect(leases.token('r1')).toBe(2);
    leases.stop();
  });

  it('keeps its leases when a renewal fails, and renews at the next beat', async () => {
    const renew = vi.fn().mockRejectedValueOnce(new Error('down')).mockResolvedValueOnce(['r1']);
    const leases = new HeldLeases(3_000, renew);
    leases.hold('r1', 1);
    await leases.beat();
    await leases.beat();
    expect([leases.token('r1'), renew.mock.calls.length]).toEqual([1, 2]);
    leases.stop();
  });

  it('does not start a renewal while one is in flight', async () => {
    const renew = vi.fn(() => new Promise<string[]>(() => {}));
    const leases = new HeldLeases(3_000, renew);
    leases.hold('r1', 1);
    void leases.beat();
    await leases.beat();
    expect(renew).toHaveBeenCalledTimes(1);
    leases.stop();
  });

  it('gives up on a renewal that hangs after a beat, so the next beat renews again', async () => {
    vi.useFakeTimers();
    const renew = vi
      .fn()
      .mockReturnValueOnce(new Promise(() => {}))
      .mockResolvedValueOnce(['r1']);
    const leases = new HeldLeases(3_000, renew);
    leases.hold('r1', 1);
    await vi.advanceTimersByTimeAsync(2_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renew).toHaveBeenCalledTimes(2);
    leases.stop();
  });

  it('lets go of a lease it does not hold as of nothing', () => {
    const leases = new HeldLeases(3_000, async () => []);
    leases.release('never');
    expect([leases.holds('never'), leases.token('never')]).toEqual([false, null]);
  });

  it('stops its heartbeat once nothing is held', async () => {
    vi.useFakeTimers();
    const renew = vi.fn(async () => []);
    const leases = new HeldLeases(300, renew);
    leases.hold('r1', 1);
    leases.release('r1');
    await vi.advanceTimersByTimeAsync(1_000);
    expect([renew.mock.calls.length, vi.getTimerCount()]).toEqual([0, 0]);
  });
});

describe('leaseSettings', () => {
  it('fills in an owner naming the host and process, and a 30 s lease', () => {
    const { owner, leaseMs } = leaseSettings('X options', {});
    expect([owner.split(':')[1], leaseMs]).toEqual([String(process.pid), 30_000]);
  });

  it.each([
    [
      'a lease under 100 ms',
      { leaseMs: 99 },
      /"leaseMs" in X options: expected an integer from 100 to 2147483647, got 99/,
    ],
    ['a lease past 2^31 ms', { leaseMs: 2 ** 31 }, /got 2147483648/],
    ['a fractional lease', { leaseMs: 1500.5 }, /got 1500.5/],
    ['a lease given as a string', { leaseMs: '1000' }, /got "1000"$/],
    ['an empty owner', { owner: '' }, /"owner" in X options: expected a string of 1 to 200 characters/],
    ['a 201-character owner', { owner: 'x'.repeat(201) }, /"owner"/],
    ['an owner that is a number', { owner: 7 }, /got number/],
  ])('refuses %s with INVALID_OPTIONS', (_, options, message) => {
    expect(() => leaseSettings('X options', options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(message) }),
    );
  });
});

describe('runLeased', () => {
  it('names the owner and, when known, the expiry', () => {
    expect([runLeased('r1', 'one', 0).message, runLeased('r1', 'one', null).message]).toEqual([
      'Run "r1" is leased by "one" until 1970-01-01T00:00:00.000Z: it is running in another process',
      'Run "r1" is leased by "one": it is running in another process',
    ]);
  });

  it('says a run whose lease is free now must be claimed, not begun again', () => {
    expect(runLeased('r1', null, null)).toMatchObject({
      code: 'RUN_LEASED',
      retryable: true,
      message: expect.stringContaining('claim it to resume it, do not begin it again'),
    });
  });
});

describe('leaseRefusal', () => {
  it('finds a refusal wrapped as the cause of a persistence failure', () => {
    const lost = leaseLost('r1', 'saveCheckpoint', 'one');
    expect(leaseRefusal(new PersistenceError('saveCheckpoint', lost))).toBe(lost);
  });

  it('finds RUN_LEASED too', () => {
    const leased = runLeased('r1', 'one', 0);
    expect([leased.code, leaseRefusal(leased)]).toEqual(['RUN_LEASED', leased]);
  });

  it('takes another error with the code LEASE_LOST for no refusal of ours', () => {
    expect(leaseRefusal(Object.assign(new Error('x'), { code: 'LEASE_LOST' }))).toBeUndefined();
  });

  it('never throws on a hostile error', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(leaseRefusal(proxy)).toBeUndefined();
    expect(leaseRefusal(new MacroError('STAGE_FAILED', 'x', { cause: proxy }))).toBeUndefined();
  });
});

/** A pool whose migrations succeed and whose every other query rejects with `reason`. */
function failingPool(reason: unknown): never {
  return {
    query: async () => Promise.reject(reason),
    connect: async () => ({ query: async () => ({ rows: [{ v: 1 }], rowCount: 1 }), release() {} }),
    end: async () => {},
  } as never;
}

describe('PostgresMemory options', () => {
  it.each([
    [{ schema: 'Bad-Name' }, /"schema" in PostgresMemory options: expected a lower-case identifier/],
    [{ schema: 'x'.repeat(64) }, /"schema"/],
    [{ connectionString: '' }, /"connectionString"/],
    [{ pool: {} }, /"pool" in PostgresMemory options: expected a pg.Pool, got object/],
    [
      { pool: { query() {}, connect() {}, end() {} }, connectionString: 'postgres://x' },
      /either "pool" or "connectionString", not both/,
    ],
    [{ schema: 'ok', leaseMs: 1 }, /"leaseMs"/],
    [{ prepare: 'yes' }, /"prepare" in PostgresMemory options: expected true or false, got string/],
    [{ database: 'test' }, /Unknown option "database" in PostgresMemory options/],
  ])('refuses %o with INVALID_OPTIONS before connecting', (options, message) => {
    expect(() => new PostgresMemory(options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(message) }),
    );
  });

  it('refuses a revoked proxy as the pool with INVALID_OPTIONS', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => new PostgresMemory({ pool: proxy as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects with PERSISTENCE_FAILED, retryable, when the connection breaks (SQLSTATE class 08)', async () => {
    const broken = Object.assign(new Error('connection failure'), { code: '08006' });
    const memory = new PostgresMemory({ pool: failingPool(broken) });
    await expect(memory.listRuns()).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      retryable: true,
      cause: broken,
    });
  });

  it('rejects with PERSISTENCE_FAILED, not retryable, for a value the driver threw that is not an error', async () => {
    const memory = new PostgresMemory({ pool: failingPool('syntax') });
    await expect(memory.listRuns()).rejects.toMatchObject({
      code: 'PERSISTENCE_FAILED',
      retryable: false,
      message: expect.stringContaining('failed: syntax'),
    });
  });

  it('leaves a pool it was given open when closed', async () => {
    const pool = { query: vi.fn(), connect: vi.fn(), end: vi.fn(async () => {}) };
    await new PostgresMemory({ pool: pool as never }).close();
    expect(pool.end).not.toHaveBeenCalled();
  });
});
