/**
 * What the BullMQ subpath's constructors and `MacroQueue`'s methods refuse, before any
 * connection is opened or anything is written to Redis.
 */
import { type AddressInfo, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AgentWorker, MacroQueue, MacroWorker, queuedAgent } from '../../src/bullmq.js';
import { defineAgent, MacroOrchestrator } from '../../src/index.js';
import { revoked } from '../support/index.js';
import { collect, connection, fleet, queueOnly, useHarness } from './harness.js';

useHarness();

/** Any Redis address: the constructors refuse before they would connect to it. */
/**
 * Where every refused construction points: a TCP server that counts the connections it gets.
 * A check that spies on ioredis' connect() would miss a socket opened another way; this
 * file's refusals must open none at all (checked after the last test).
 */
const counting = createServer((socket) => socket.destroy());
let accepted = 0;
counting.on('connection', () => accepted++);
await new Promise<void>((resolve) => counting.listen(0, '127.0.0.1', resolve));
const somewhere = { host: '127.0.0.1', port: (counting.address() as AddressInfo).port };
afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 100)); // a connection attempt lands within a tick or two
  counting.close();
  expect(accepted).toBe(0);
});
const echo = defineAgent({ id: 'echo', invoke: (input: unknown) => input });
const boom = new Error('getter boom');

/** `fields` with a getter for `key` that throws {@link boom}. */
function throwing(key: string, fields: object): object {
  return Object.defineProperty({ ...fields }, key, {
    enumerable: true,
    get() {
      throw boom;
    },
  });
}

/** A logger with every MacroLogger method, doing nothing. */
function quietLogger(): Record<string, unknown> {
  const noop = () => {};
  const logger: Record<string, unknown> = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    fatal: noop,
  };
  logger['child'] = () => logger;
  logger['isLevelEnabled'] = () => false;
  return logger;
}

/** Calls `make`, expecting it to throw INVALID_OPTIONS whose message contains `named`, with no Redis connection opened. */
function refusedBeforeConnecting(make: () => unknown, named: string): unknown {
  const connecting = vi.spyOn(Redis.prototype, 'connect');
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(caught).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining(named) });
  expect(connecting).not.toHaveBeenCalled();
  return caught;
}

describe('the connection option', () => {
  const makers: [string, (connection: unknown) => unknown][] = [
    ['new MacroQueue', (connection) => new MacroQueue({ connection } as never)],
    [
      'new MacroWorker',
      (connection) => new MacroWorker({ connection, orchestrator: new MacroOrchestrator() } as never),
    ],
    ['new AgentWorker', (connection) => new AgentWorker({ connection, agents: [echo] } as never)],
    ['queuedAgent', (connection) => queuedAgent('writer', { connection } as never)],
  ];

  it.each(makers)(
    'is refused by %s when it is a revoked proxy, with INVALID_OPTIONS, before connecting',
    (_, make) => {
      refusedBeforeConnecting(() => make(revoked()), 'connection: Expected connection options');
    },
  );

  it.each(makers)(
    "is refused by %s when a getter of it throws, with INVALID_OPTIONS, the getter's error its cause",
    (_, make) => {
      const error = refusedBeforeConnecting(() => make(throwing('host', { port: 6379 })), 'Cannot read');
      expect(error).toMatchObject({ cause: boom });
    },
  );
});

describe('connection options with no prototype', () => {
  it('are read once, in the check: a getter that throws is INVALID_OPTIONS, before connecting', () => {
    const options = Object.create(null) as Record<string, unknown>;
    Object.defineProperty(options, 'host', {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    const error = refusedBeforeConnecting(
      () => new MacroQueue({ connection: options } as never),
      'Cannot read',
    );
    expect(error).toMatchObject({ cause: boom });
  });
});

describe('an ioredis instance as the connection', () => {
  it('is refused by new MacroQueue when it has a keyPrefix, which BullMQ refuses, before connecting', () => {
    const client = new Redis({ ...somewhere, keyPrefix: 'app:', lazyConnect: true });
    refusedBeforeConnecting(() => new MacroQueue({ connection: client } as never), 'without a keyPrefix');
  });
});

describe('new MacroWorker', () => {
  it.each([
    ['a revoked proxy', revoked, 'orchestrator: Expected a MacroOrchestrator'],
    [
      'an object without a run method',
      () => ({}),
      'orchestrator: Expected a MacroOrchestrator (an object with a run method)',
    ],
  ])('refuses an orchestrator that is %s with INVALID_OPTIONS, before connecting', (_, make, named) => {
    refusedBeforeConnecting(
      () => new MacroWorker({ connection: somewhere, orchestrator: make() } as never),
      named,
    );
  });

  it('refuses a negative maxStalledCount with INVALID_OPTIONS, before connecting', () => {
    refusedBeforeConnecting(
      () =>
        new MacroWorker({
          connection: somewhere,
          orchestrator: new MacroOrchestrator(),
          maxStalledCount: -1,
        }),
      'maxStalledCount',
    );
  });
});

describe('new MacroQueue', () => {
  it.each([
    [{ conection: somewhere }, 'Unknown option "conection" in MacroQueue options'],
    [{ connection: somewhere, name: 'a:b' }, 'name: Expected no ":"'],
    [{ connection: somewhere, name: '' }, 'name'],
    [{ connection: somewhere, prefix: '' }, 'prefix'],
    [{ connection: null }, 'connection: Expected connection options'],
    [{ name: 'runs' }, 'connection'],
    [null, 'Expected MacroQueue options to be an object, got null'],
  ])('refuses %j with INVALID_OPTIONS naming it, before connecting', (options, named) => {
    refusedBeforeConnecting(() => new MacroQueue(options as never), named);
  });

  it('refuses options that are a revoked proxy with INVALID_OPTIONS, before connecting', () => {
    refusedBeforeConnecting(() => new MacroQueue(revoked() as never), 'MacroQueue options');
  });

  it("refuses options whose getter throws with INVALID_OPTIONS, the getter's error its cause", () => {
    const options = throwing('name', { connection: somewhere });
    const error = refusedBeforeConnecting(
      () => new MacroQueue(options as never),
      'Cannot read MacroQueue options',
    );
    expect(error).toMatchObject({ cause: boom });
  });
});

describe('new AgentWorker', () => {
  it.each([
    [{ agents: [echo], limiter: { max: Number.NaN, duration: 1000 } }, 'limiter.max'],
    [{ agents: [echo], limiter: { max: 0, duration: 1000 } }, 'limiter.max'],
    [{ agents: [echo], limiter: { max: 5, duration: 0 } }, 'limiter.duration'],
    [{ agents: [echo], limiter: { max: 5, duration: 2 ** 31 } }, 'limiter.duration'],
    [{ agents: [echo], limiter: { max: 5 } }, 'limiter.duration'],
    [{ agents: [echo], concurrency: 0 }, 'concurrency'],
    [{ agents: [echo], queue: 'gpu:1' }, 'queue: Expected no ":"'],
    [
      { agents: [echo], logger: {} },
      'logger: Expected a MacroLogger (trace, debug, info, warn, error, fatal, child, isLevelEnabled)',
    ],
    [{ agents: [echo], logger: null }, 'logger: Expected a MacroLogger'],
    [{ agents: 42 }, 'agents: Expected an iterable of agents'],
    [{ agents: null }, 'agents: Expected an iterable of agents'],
    [{ agents: [echo], logger: { ...quietLogger(), fatal: undefined } }, 'logger: Expected a MacroLogger'],
    [{ agents: [echo], agnets: [] }, 'Unknown option "agnets" in AgentWorker options'],
    [{}, 'agents'],
    [{ agents: [42] }, 'Expected an agent'],
    [{ agents: [echo, echo] }, 'Agent "echo" is registered twice'],
  ])('refuses %j with INVALID_OPTIONS naming it, before connecting', (extra, named) => {
    refusedBeforeConnecting(() => new AgentWorker({ connection: somewhere, ...extra } as never), named);
  });

  it('refuses agents that are a revoked proxy with INVALID_OPTIONS, before connecting', () => {
    refusedBeforeConnecting(
      () => new AgentWorker({ connection: somewhere, agents: revoked() } as never),
      'Cannot read the agents',
    );
  });
});

describe('queuedAgent', () => {
  it.each([
    [
      '',
      { connection: somewhere },
      'Invalid agent id given to queuedAgent: expected a non-empty string, got ""',
    ],
    [42, { connection: somewhere }, 'got 42'],
    [
      'writer',
      { connection: somewhere, queu: 'gpu' },
      'Unknown option "queu" in queuedAgent("writer") options',
    ],
    ['writer', { connection: somewhere, queue: 'gpu:1' }, 'queue: Expected no ":"'],
    ['writer', { connection: somewhere, description: 5 }, 'description'],
    ['writer', {}, 'connection'],
    ['writer', undefined, 'expected object, received undefined'],
  ])('refuses the id %j with options %j with INVALID_OPTIONS naming what is wrong', (id, options, named) => {
    expect(() => queuedAgent(id as never, options as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(named) }),
    );
  });
});

describe.skipIf(connection === undefined)('MacroQueue.result, events and cancel', () => {
  const ids: [string, () => unknown, string][] = [
    ['42', () => 42, 'got 42'],
    ['""', () => '', 'got ""'],
    ['an object', () => ({}), 'got object'],
    ['a revoked proxy', revoked, 'got revoked proxy'],
  ];

  it.each(ids)('result() refuses the run id %s with INVALID_OPTIONS', async (_, id, named) => {
    const { queue } = queueOnly();
    await expect(queue.result(id() as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: `Invalid run id given to MacroQueue.result: expected a non-empty string, ${named}`,
    });
  });

  it.each(ids)('events() refuses the run id %s with INVALID_OPTIONS', async (_, id, named) => {
    const { queue } = queueOnly();
    await expect(collect(queue.events(id() as never))).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: `Invalid run id given to MacroQueue.events: expected a non-empty string, ${named}`,
    });
  });

  it.each(ids)(
    'cancel() refuses the run id %s with INVALID_OPTIONS, writing no cancellation',
    async (_, id, named) => {
      const { queue, name } = queueOnly();
      await expect(queue.cancel(id() as never)).rejects.toMatchObject({
        code: 'INVALID_OPTIONS',
        message: `Invalid run id given to MacroQueue.cancel: expected a non-empty string, ${named}`,
      });
      const client = new Redis(connection as never);
      try {
        expect(await client.keys(`bull:${name}:mo:cancelled:*`)).toEqual([]);
      } finally {
        client.disconnect();
      }
    },
  );

  it('cancel() refuses a reason that is no string with INVALID_OPTIONS', async () => {
    const { queue } = queueOnly();
    await expect(queue.cancel('r1', { why: 'late' } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'MacroQueue.cancel expects a reason that is a string, got object',
    });
  });
});

describe.skipIf(connection === undefined)('MacroWorker.close', () => {
  it.each([
    [
      'a misspelt handback, which would drain instead of handing back',
      () => ({ handback: true }),
      'Unknown option "handback"',
    ],
    ['a revoked proxy', revoked, 'Cannot read the keys of MacroWorker.close options'],
    ['a throwing getter', () => throwing('handBack', {}), 'Cannot read MacroWorker.close options'],
  ])('refuses %s with INVALID_OPTIONS, leaving the worker running', async (_, make, named) => {
    const { worker } = fleet();
    await expect(worker.close(make() as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining(named),
    });
    expect(worker.worker.isRunning()).toBe(true);
  });
});

describe.skipIf(connection === undefined)('valid options, on the real Redis', () => {
  it('new AgentWorker takes a logger with every MacroLogger method', async () => {
    const worker = new AgentWorker({
      connection: connection as never,
      queue: `mo-opts-${process.pid}`,
      agents: [echo],
      logger: quietLogger() as never,
    });
    await worker.close();
  });

  it('new MacroWorker takes a maxStalledCount of 0 or more', async () => {
    for (const maxStalledCount of [0, 2]) {
      const worker = new MacroWorker({
        connection: connection as never,
        orchestrator: new MacroOrchestrator(),
        name: `mo-opts-${process.pid}`,
        maxStalledCount,
      });
      await worker.close();
    }
  });

  it('uses an ioredis instance given as the connection as it is: its database, not a copy of its fields', async () => {
    const client = new Redis({ ...(connection as object), db: 3 });
    const name = `mo-opts-db-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const queue = new MacroQueue({ connection: client, name });
    try {
      await queue.enqueue('write', { intent: 'x' });
      expect((await client.keys(`bull:${name}:*`)).length).toBeGreaterThan(0);
    } finally {
      await queue.queue.obliterate({ force: true });
      await queue.close();
      client.disconnect();
    }
  });
});
