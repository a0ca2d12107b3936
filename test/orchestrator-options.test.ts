/**
 * The orchestrator's options when they are hostile: throwing getters, revoked proxies,
 * a logger without the methods the engine calls, values that change between reads.
 * Each is INVALID_OPTIONS at construction, with what was thrown as the cause.
 */
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, ExecutionStage, InMemoryMemory, MacroOrchestrator } from '../src/index.js';
import { fnAgent, revoked, thrownBy } from './support/index.js';

const echo = fnAgent('echo', (x: unknown) => x);
const macro = defineMacro({ name: 'm', description: 'one stage', stages: [agentStage('s', 'echo')] });

const trap = new Error('trap');

describe('orchestrator options that cannot be read', () => {
  it("are refused with INVALID_OPTIONS when a getter throws, the getter's error as cause", () => {
    const options = {
      agents: [echo],
      get memory(): InMemoryMemory {
        throw trap;
      },
    };
    const error = thrownBy(() => new MacroOrchestrator(options));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read orchestrator options: trap',
      cause: trap,
    });
  });

  it("are refused with INVALID_OPTIONS when a nested getter throws, the getter's error as cause", () => {
    const scheduling = {
      get concurrency(): number {
        throw trap;
      },
    };
    const error = thrownBy(() => new MacroOrchestrator({ scheduling }));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', cause: trap });
  });

  it('are refused with INVALID_OPTIONS when they are a revoked proxy', () => {
    const error = thrownBy(() => new MacroOrchestrator(revoked() as never));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Cannot read the keys of orchestrator options',
    });
  });

  it('are refused with INVALID_OPTIONS when a pipeline phase is a revoked proxy', () => {
    const error = thrownBy(() => new MacroOrchestrator({ pipeline: [revoked() as never] }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Expected every pipeline phase to extend ExecutionStage',
    });
  });

  it("are refused with INVALID_OPTIONS when a phase's name getter throws, the getter's error as cause", () => {
    class Broken extends ExecutionStage {
      get name(): string {
        throw trap;
      }
      execute(): void {}
    }
    const error = thrownBy(() => new MacroOrchestrator({ phases: [new Broken()] }));
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', cause: trap });
  });
});

describe('orchestrator options read twice', () => {
  it('are read once: a getter that answers differently later does not change what the orchestrator uses', () => {
    const memory = new InMemoryMemory();
    let reads = 0;
    const options = {
      agents: [echo],
      macros: [macro],
      get memory(): InMemoryMemory {
        reads++;
        return reads === 1 ? memory : ({} as InMemoryMemory);
      },
    };
    expect(new MacroOrchestrator(options).memory).toBe(memory);
  });
});

describe('a logger without the methods the engine calls', () => {
  it('is refused at construction with INVALID_OPTIONS naming every missing method', () => {
    const error = thrownBy(() => new MacroOrchestrator({ logger: {} as never }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message:
        'Invalid orchestrator options: logger must implement MacroLogger (missing: trace, debug, info, warn, error, fatal, child, isLevelEnabled)',
    });
  });

  it('is refused when it lacks only child', () => {
    const ignore = () => {};
    const logger = {
      trace: ignore,
      debug: ignore,
      info: ignore,
      warn: ignore,
      error: ignore,
      fatal: ignore,
      isLevelEnabled: () => true,
    };
    const error = thrownBy(() => new MacroOrchestrator({ logger: logger as never }));
    expect(error.message).toBe(
      'Invalid orchestrator options: logger must implement MacroLogger (missing: child)',
    );
  });

  it('is refused with INVALID_OPTIONS when reading a method throws, the error as cause', () => {
    const error = thrownBy(() => new MacroOrchestrator({ logger: revoked() as never }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/^Cannot read orchestrator options: /),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });
});

describe('prices', () => {
  it('refuse a __proto__ model id, which a record check skips', () => {
    const prices = JSON.parse('{"__proto__": {"inputPerMillion": -1, "outputPerMillion": 1}}');
    const error = thrownBy(() => new MacroOrchestrator({ prices }));
    expect(error).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: 'Invalid orchestrator options: prices.__proto__ is no model id',
    });
  });
});
