/** Every public options object refuses keys it does not know, naming the key and the known ones. */
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, InMemoryMemory, MacroOrchestrator, runMacro } from '../src/index.js';
import { fnAgent } from './support/index.js';

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
