/**
 * The agents an orchestrator is given: malformed, duplicate and hostile agents (revoked
 * proxies, throwing getters, iterables that throw) are refused with INVALID_OPTIONS,
 * naming where the agent is and with what was thrown as the cause.
 */
import { describe, expect, it } from 'vitest';
import { AgentRegistry, MacroOrchestrator } from '../src/index.js';
import { fnAgent, revoked, thrownBy } from './support/index.js';

const echo = fnAgent('echo', (x: unknown) => x);

const trap = new Error('trap');

describe('agents that cannot be read', () => {
  it('are refused with INVALID_OPTIONS when they are a revoked proxy, the TypeError as cause', () => {
    const error = thrownBy(() => new MacroOrchestrator({ agents: revoked() as never, macros: [] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read the agents: /),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('are refused with INVALID_OPTIONS naming the position of an agent that is a revoked proxy', () => {
    const error = thrownBy(() => new MacroOrchestrator({ agents: [echo, revoked() as never], macros: [] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read the agent at agents\[1\]: /),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("are refused with INVALID_OPTIONS when an agent's id getter throws, the getter's error as cause", () => {
    const agent = {
      get id(): string {
        throw trap;
      },
      invoke: () => 'x',
    };
    const error = thrownBy(() => new MacroOrchestrator({ agents: [agent], macros: [] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read the agent at agents[0]: trap',
      cause: trap,
    });
  });

  it("are refused naming the agent's id when its invoke getter throws", () => {
    const agent = {
      id: 'writer',
      get invoke(): () => string {
        throw trap;
      },
    };
    const error = thrownBy(() => new MacroOrchestrator({ agents: [echo, agent], macros: [] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read agent "writer" at agents[1]: trap',
      cause: trap,
    });
  });

  it("are refused with INVALID_OPTIONS when their iterator throws, naming the position and the iterator's error as cause", () => {
    function* agents() {
      yield echo;
      throw trap;
    }
    const error = thrownBy(() => new MacroOrchestrator({ agents: agents(), macros: [] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot iterate the agents at agents[1]: trap',
      cause: trap,
    });
  });

  it('are refused with INVALID_OPTIONS when they are an object that is not iterable', () => {
    const error = thrownBy(() => new MacroOrchestrator({ agents: {} as never, macros: [] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Expected the agents to be iterable or an AgentRegistry',
    });
  });
});

describe('new AgentRegistry', () => {
  it('refuses agents that are a revoked proxy with INVALID_OPTIONS, the TypeError as cause', () => {
    const error = thrownBy(() => new AgentRegistry(revoked() as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read the agents: /),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("refuses agents whose iterator method throws, the method's error as cause", () => {
    const agents = {
      [Symbol.iterator](): Iterator<never> {
        throw trap;
      },
    };
    const error = thrownBy(() => new AgentRegistry(agents));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot iterate the agents: trap',
      cause: trap,
    });
  });
});

describe('AgentRegistry.register', () => {
  it('refuses a revoked proxy with INVALID_OPTIONS, the TypeError as cause', () => {
    const error = thrownBy(() => new AgentRegistry().register(revoked() as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read the agent: /),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('refuses an agent registered twice, naming its id', () => {
    const error = thrownBy(() => new AgentRegistry([echo, fnAgent('echo', () => 1)]));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', message: 'Agent "echo" is registered twice' });
  });

  it('refuses an agent without an invoke function', () => {
    const error = thrownBy(() => new AgentRegistry([{ id: 'a' } as never]));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Expected an agent with an `id` and an `invoke` function',
    });
  });

  it('closes the iterator of the agents when one of them is refused', () => {
    let closed = false;
    function* agents() {
      try {
        yield { id: '' } as never;
      } finally {
        closed = true;
      }
    }
    thrownBy(() => new AgentRegistry(agents()));
    expect(closed).toBe(true);
  });
});
