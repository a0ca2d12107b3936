/** Every public options object refuses keys it does not know, naming the key and the known ones. */
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, InMemoryMemory, MacroOrchestrator, runMacro } from '../src/index.js';
import { fnAgent, hangingAgent, revoked } from './support/index.js';

const echo = fnAgent('echo', (x: unknown) => x);
const macro = defineMacro({ name: 'm', description: 'one stage', stages: [agentStage('s', 'echo')] });
const orchestrator = () => new MacroOrchestrator({ agents: [echo], macros: [macro] });

/** The error `fn` throws (synchronously or by rejecting). */
async function thrown(fn: () => unknown): Promise<{ code?: string; message?: string }> {
  try {
    await fn();
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  throw new Error('expected a throw');
}

describe('an unknown option key', () => {
  it('is refused in orchestrator options, with the known keys', async () => {
    const error = await thrown(
      () => new MacroOrchestrator({ agents: [echo], macros: [macro], retries: 3 } as never),
    );
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.message).toMatch(
      /^Unknown option "retries" in orchestrator options \(known: agents, macros, /,
    );
  });

  it('is refused in run options', async () => {
    const error = await thrown(() => orchestrator().run('m', { intent: 'x' }, { timeout: 5 } as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message:
        'Unknown option "timeout" in run options (known: input, runId, signal, timeoutMs, deadline, budget)',
    });
  });

  it('is refused in resume options', async () => {
    const error = await thrown(() => orchestrator().resume('r', { answer: 'x' } as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message:
        'Unknown option "answer" in resume options (known: signal, timeoutMs, deadline, budget, input, token)',
    });
  });

  it('is refused in resumeIncomplete options', async () => {
    const error = await thrown(() => orchestrator().resumeIncomplete({ stale: 5 } as never));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('"stale"') });
  });

  it('is refused in runMacro options', async () => {
    const error = await thrown(() =>
      runMacro('m', { intent: 'x' }, { agents: [echo], macros: [macro], timout: 1 } as never),
    );
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('"timout"') });
  });

  it('is named as being in runMacro options', async () => {
    const error = await thrown(() =>
      runMacro('m', { intent: 'x' }, { agents: [echo], macros: [macro], timout: 1 } as never),
    );
    expect(error.message).toContain('"timout" in runMacro options');
  });

  it('is refused in a context, with the known keys', async () => {
    const error = await thrown(() => orchestrator().run('m', { intent: 'x', knowlege: [] } as never));
    expect(error).toMatchObject({
      code: 'INVALID_CONTEXT',
      message: expect.stringContaining('"knowlege" (known: intent, guidance, knowledge, metadata)'),
    });
  });

  it('is refused in InMemoryMemory options', async () => {
    const error = await thrown(() => new InMemoryMemory({ maxRun: 5 } as never));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('"maxRun"') });
  });
});

describe('an invalid context', () => {
  it('is refused with every problem, each with its path, and the zod error as cause', async () => {
    const error = (await thrown(() =>
      orchestrator().run('m', { intent: '', knowledge: [{ id: 'k' }] } as never),
    )) as { code: string; message: string; cause: unknown };
    expect(error.code).toBe('INVALID_CONTEXT');
    expect(error.message).toBe(
      'Invalid context for macro "m": intent must not be empty at context.intent; Invalid input: expected string, received undefined at context.knowledge[0].content',
    );
    expect((error.cause as Error).name).toBe('ZodError');
  });
});

describe('a context that cannot be read', () => {
  it('is refused with INVALID_CONTEXT when it is a revoked proxy, not a TypeError', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const error = await thrown(() => orchestrator().run('m', proxy as never));
    expect(error).toMatchObject({
      code: 'INVALID_CONTEXT',
      message: expect.stringMatching(/^Cannot read the context for macro "m": /),
    });
  });

  it("is refused with INVALID_CONTEXT when a getter throws, the getter's error as cause", async () => {
    const trap = new Error('trap');
    const context = {
      intent: 'x',
      get guidance(): string {
        throw trap;
      },
    };
    const error = await thrown(() => orchestrator().run('m', context));
    expect(error).toMatchObject({ code: 'INVALID_CONTEXT', cause: trap });
  });
});

describe('a full context', () => {
  it('is accepted, with its knowledge and metadata handed to agents', async () => {
    let seen: unknown;
    const o = new MacroOrchestrator({
      agents: [
        fnAgent('echo', (x: unknown) => x),
        { id: 'peek', invoke: (_x: unknown, inv) => (seen = inv.context) },
      ],
      macros: [defineMacro({ name: 'p', description: 'peeks', stages: [agentStage('s', 'peek')] })],
    });
    const context = {
      intent: 'x',
      guidance: 'g',
      knowledge: [{ id: 'k', content: 'c' }],
      metadata: { t: 1 },
    };
    expect((await o.run('p', context)).status).toBe('succeeded');
    expect(seen).toEqual(context);
  });
});

describe('an invalid run option value', () => {
  it('is refused with INVALID_OPTIONS naming the option, when checked by the schema', async () => {
    const options = { timeoutMs: -1, input: undefined };
    const error = await thrown(() => orchestrator().run('m', { intent: 'x' }, options));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Invalid run options: timeoutMs: /),
    });
  });
});

describe('run options that cannot be read', () => {
  it("are refused with INVALID_OPTIONS, the getter's error as cause, not thrown as they are", async () => {
    const trap = new Error('trap');
    const options = {
      get timeoutMs(): number {
        throw trap;
      },
    };
    const error = await thrown(() => orchestrator().run('m', { intent: 'x' }, options));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read run options: /),
      cause: trap,
    });
  });
});

describe('run options that are a revoked proxy', () => {
  it('are refused with INVALID_OPTIONS, not a TypeError', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const error = await thrown(() => orchestrator().run('m', { intent: 'x' }, proxy));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: 'Cannot read the keys of run options' });
  });
});

describe('runMacro given an orchestrator', () => {
  it('refuses orchestrator options beside it, which it would ignore', async () => {
    const error = await thrown(() =>
      runMacro('m', { intent: 'x' }, { orchestrator: orchestrator(), logLevel: 'debug' } as never),
    );
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('logLevel') });
  });

  it('names every orchestrator option given beside the orchestrator', async () => {
    const error = await thrown(() =>
      runMacro('m', { intent: 'x' }, {
        orchestrator: orchestrator(),
        logLevel: 'debug',
        now: Date.now,
      } as never),
    );
    expect(error.message).toBe(
      'Invalid runMacro options: pass an orchestrator or orchestrator options, not both (got orchestrator and logLevel, now)',
    );
  });

  it('calls the run method it checked: a run getter is read once', async () => {
    const real = orchestrator();
    let reads = 0;
    const proxy = new Proxy(real, {
      get: (target, key) => {
        if (key !== 'run') return Reflect.get(target, key);
        reads += 1;
        return reads === 1 ? target.run.bind(target) : 'not a function';
      },
    });
    const result = await runMacro('m', { intent: 'x' }, { orchestrator: proxy });
    expect([result.status, reads]).toEqual(['succeeded', 1]);
  });

  it('runs the macro on that orchestrator when given nothing else', async () => {
    const result = await runMacro('m', { intent: 'x' }, { orchestrator: orchestrator() });
    expect(result).toMatchObject({ status: 'succeeded', output: 'x' });
  });
});

describe('orchestrator option values', () => {
  it('refuses a memory that does not implement MemoryAdapter', async () => {
    const error = await thrown(() => new MacroOrchestrator({ memory: { saveResult() {} } as never }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('missing: beginRun'),
    });
  });

  it('lists every method a memory lacks, in the message that says it is not a MemoryAdapter', async () => {
    const partial = { beginRun: async () => {}, saveCheckpoint: async () => {} };
    const error = await thrown(() => new MacroOrchestrator({ memory: partial as never }));
    expect(error.message).toBe(
      'Invalid orchestrator options: memory must implement MemoryAdapter (missing: loadRun, saveResult, loadResult, appendAudit, readAudit, listRuns)',
    );
  });

  it('refuses a null memory as not an object, naming the orchestrator options', async () => {
    const error = await thrown(() => new MacroOrchestrator({ memory: null } as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Invalid orchestrator options: memory: memory must be an object',
    });
  });

  it('refuses a memory that is a number as not an object', async () => {
    const error = await thrown(() => new MacroOrchestrator({ memory: 5 } as never));
    expect(error.message).toBe('Invalid orchestrator options: memory: memory must be an object');
  });

  it('refuses a null logger as not an object', async () => {
    const error = await thrown(() => new MacroOrchestrator({ logger: null } as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Invalid orchestrator options: logger: logger must be an object',
    });
  });

  it('refuses a logger that is a string as not an object', async () => {
    const error = await thrown(() => new MacroOrchestrator({ logger: 'debug' } as never));
    expect(error.message).toBe('Invalid orchestrator options: logger: logger must be an object');
  });

  it('refuses a clock that is not a function', async () => {
    const error = await thrown(() => new MacroOrchestrator({ now: 5 } as never));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: expect.stringContaining('now') });
  });

  it('refuses a now that is not a function, saying it must be one', async () => {
    const error = await thrown(() => new MacroOrchestrator({ now: 5 } as never));
    expect(error.message).toBe('Invalid orchestrator options: now: now must be a function');
  });

  it('refuses a createRunId that is not a function, saying it must be one', async () => {
    const error = await thrown(() => new MacroOrchestrator({ createRunId: 'id' } as never));
    expect(error.message).toBe('Invalid orchestrator options: createRunId: createRunId must be a function');
  });

  it('refuses a random that is not a function, saying it must be one', async () => {
    const error = await thrown(() => new MacroOrchestrator({ random: 0.5 } as never));
    expect(error.message).toBe('Invalid orchestrator options: random: random must be a function');
  });

  it('refuses null agents as not iterable', async () => {
    const error = await thrown(() => new MacroOrchestrator({ agents: null } as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Invalid orchestrator options: agents: agents must be iterable',
    });
  });

  it('refuses agents that are a number as not iterable', async () => {
    const error = await thrown(() => new MacroOrchestrator({ agents: 5 } as never));
    expect(error.message).toBe('Invalid orchestrator options: agents: agents must be iterable');
  });

  it("accepts checkAgents: 'reachable' given explicitly", () => {
    expect(
      () => new MacroOrchestrator({ agents: [echo], macros: [macro], checkAgents: 'reachable' }),
    ).not.toThrow();
  });

  it('accepts every pino level as logLevel', () => {
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
    for (const logLevel of levels) expect(() => new MacroOrchestrator({ logLevel })).not.toThrow();
  });

  it('accepts persistenceTimeoutMs: Infinity', () => {
    expect(() => new MacroOrchestrator({ persistenceTimeoutMs: Number.POSITIVE_INFINITY })).not.toThrow();
  });

  it('refuses options that are not an object', async () => {
    const error = await thrown(() => new MacroOrchestrator('agents' as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Expected orchestrator options to be an object, got string',
    });
  });
});

describe('run option values', () => {
  it('accept a time budget longer than 2^31-1 ms', () => {
    expect(() => orchestrator().run('m', { intent: 'x' }, { timeoutMs: 3e9 }).cancel()).not.toThrow();
  });
});

describe('a run signal that cannot be used', () => {
  it('is refused with INVALID_OPTIONS when it is a revoked proxy, the TypeError as cause', async () => {
    const error = (await thrown(() =>
      orchestrator().run('m', { intent: 'x' }, { signal: revoked() as AbortSignal }),
    )) as { code?: string; message?: string; cause?: unknown };
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read run options: /),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("is refused with INVALID_OPTIONS when it is made from AbortSignal's prototype, not a signal", async () => {
    const signal = Object.create(AbortSignal.prototype) as AbortSignal;
    const error = await thrown(() => orchestrator().run('m', { intent: 'x' }, { signal }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Invalid run options: signal: Expected an AbortSignal',
    });
  });
});

describe('a macro name that cannot be printed', () => {
  it('is MACRO_NOT_FOUND when its toString throws', async () => {
    const name = {
      toString(): string {
        throw new Error('trap');
      },
    };
    const error = await thrown(() => orchestrator().run(name as never, { intent: 'x' }));
    expect(error).toMatchObject({ code: 'MACRO_NOT_FOUND', message: 'Unknown macro "{}" (known: m)' });
  });

  it('is MACRO_NOT_FOUND when it is a revoked proxy', async () => {
    const error = await thrown(() => orchestrator().run(revoked() as never, { intent: 'x' }));
    expect(error).toMatchObject({
      code: 'MACRO_NOT_FOUND',
      message: 'Unknown macro "[unprintable revoked proxy]" (known: m)',
    });
  });

  it('is MACRO_NOT_FOUND when it is a symbol', async () => {
    const error = await thrown(() => orchestrator().run(Symbol('m') as never, { intent: 'x' }));
    expect(error).toMatchObject({ code: 'MACRO_NOT_FOUND', message: 'Unknown macro "Symbol(m)" (known: m)' });
  });
});

describe('resume options that cannot be read', () => {
  /** An orchestrator with run "r" running (its agent never answers), and a way to end it. */
  function running() {
    const o = new MacroOrchestrator({ agents: [hangingAgent('echo')], macros: [macro] });
    const run = o.run('m', { intent: 'x' }, { runId: 'r' });
    return { o, end: () => run.cancel() };
  }

  it('are refused with INVALID_OPTIONS when null, for a run still running here', async () => {
    const { o, end } = running();
    const error = await thrown(() => o.resume('r', null as never));
    end();
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Expected resume options to be an object, got null',
    });
  });

  it('are refused with INVALID_OPTIONS when a revoked proxy, for a run still running here', async () => {
    const { o, end } = running();
    const error = await thrown(() => o.resume('r', revoked() as never));
    end();
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read the keys of resume options',
    });
  });

  it("are refused with INVALID_OPTIONS when a getter throws, the getter's error as cause", async () => {
    const trap = new Error('trap');
    const options = {
      get token(): string {
        throw trap;
      },
    };
    const error = await thrown(() => orchestrator().resume('r', options));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', cause: trap });
  });

  it("are refused by resumeIncomplete with INVALID_OPTIONS when a getter throws, the getter's error as cause", async () => {
    const trap = new Error('trap');
    const options = {
      get limit(): number {
        throw trap;
      },
    };
    const error = await thrown(() => orchestrator().resumeIncomplete(options));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', cause: trap });
  });

  it('are refused by resumeIncomplete with INVALID_OPTIONS when a revoked proxy', async () => {
    const error = await thrown(() => orchestrator().resumeIncomplete(revoked() as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read the keys of resumeIncomplete options',
    });
  });
});

/** Options whose signal getter answers a live signal first and a string after. */
function signalThatChanges() {
  let reads = 0;
  const live = new AbortController().signal;
  return {
    get signal(): AbortSignal {
      reads++;
      return reads === 1 ? live : ('not a signal' as never);
    },
  };
}

describe('options whose getter answers differently on its second read', () => {
  it('are read once by run(): the run follows the signal it was checked with', async () => {
    const result = await orchestrator().run('m', { intent: 'x' }, signalThatChanges());
    expect(result.status).toBe('succeeded');
  });

  it('are read once by run() through the schema: the run keeps the id it was checked with', async () => {
    let reads = 0;
    const options = {
      get runId(): string {
        reads++;
        return reads === 1 ? 'first' : 'second';
      },
      budget: { maxTokens: 100 },
    };
    expect(orchestrator().run('m', { intent: 'x' }, options).runId).toBe('first');
  });

  it('are read once by resume(): it follows the signal it was checked with', async () => {
    const error = await thrown(() => orchestrator().resume('r', signalThatChanges()));
    expect(error).toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('are read once by resumeIncomplete(): it follows the signal it was checked with', async () => {
    expect(await orchestrator().resumeIncomplete(signalThatChanges())).toEqual([]);
  });
});

describe('runMacro options that cannot be used', () => {
  it("are refused with INVALID_OPTIONS when a getter throws, the getter's error as cause", async () => {
    const trap = new Error('trap');
    const options = {
      agents: [echo],
      macros: [macro],
      get timeoutMs(): number {
        throw trap;
      },
    };
    const error = await thrown(() => runMacro('m', { intent: 'x' }, options));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read runMacro options: trap',
      cause: trap,
    });
  });

  it('refuse an orchestrator that is no MacroOrchestrator, before anything runs', async () => {
    const error = await thrown(() => runMacro('m', { intent: 'x' }, { orchestrator: {} as never }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message:
        'Invalid runMacro options: orchestrator must be a MacroOrchestrator, got object without a run method',
    });
  });

  it('refuse an orchestrator that is a revoked proxy, the TypeError as cause', async () => {
    const error = (await thrown(() =>
      runMacro('m', { intent: 'x' }, { orchestrator: revoked() as never }),
    )) as { code?: string; cause?: unknown };
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.cause).toBeInstanceOf(TypeError);
  });
});
