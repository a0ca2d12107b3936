/**
 * The examples a user copies from: each runs in a child process as its header says, and
 * does what it claims.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { localAgents } from '../examples/local-agents.js';
import { DocumentSchema, defineMacro, MacroOrchestrator } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', ...args], { cwd: root });

describe('examples', () => {
  it('custom-phase.ts masks the card number between the draft and the result', async () => {
    const { stdout } = await run('examples/custom-phase.ts');
    expect(stdout).toContain('refund-note/note redact: succeeded');
    expect(stdout).toContain('output: Refunded EUR 25 to card **** **** **** ****.');
    expect(stdout).not.toMatch(/4111/);
  });

  it('json-macro.ts runs the macro authored as JSON to success', async () => {
    const { stdout } = await run('examples/json-macro.ts');
    expect(stdout).toContain('status: succeeded');
    expect(stdout).toContain('json-brief/reviews/second: succeeded');
  });

  it('kv-memory.ts passes the published MemoryAdapter contract suite under node --test', async () => {
    const { stdout } = await run('--test', '--test-reporter=tap', 'examples/kv-memory.contract.ts');
    expect(stdout).toMatch(/^# fail 0$/m);
    expect(Number(/^# pass (\d+)$/m.exec(stdout)?.[1])).toBeGreaterThan(30);
  });
});

describe('a macro authored as JSON', () => {
  it('may name its JSON Schema with a $schema key, which the engine ignores', () => {
    const macro = defineMacro({
      $schema: 'node_modules/macro-orchestrator/dist/schema.json',
      name: 'with-schema',
      description: 'd',
      stages: [{ kind: 'agent', id: 'a', agent: 'a' }],
    });
    const orchestrator = new MacroOrchestrator({ agents: [{ id: 'a', invoke: () => 1 }], macros: [macro] });
    expect(orchestrator.macroNames).toContain('with-schema');
  });

  it('still refuses any other unknown key, naming it', () => {
    const macro = {
      name: 'typo',
      description: 'd',
      stages: [{ kind: 'agent', id: 'a', agent: 'a' }],
      fallbak: 'x',
    };
    expect(
      () => new MacroOrchestrator({ agents: [{ id: 'a', invoke: () => 1 }], macros: [macro as never] }),
    ).toThrow(/Unrecognized key: "fallbak"/);
  });
});

describe("the built-in agents' output schemas", () => {
  it('are exported as values that check a built-in macro’s output', async () => {
    const orchestrator = new MacroOrchestrator({ agents: localAgents() });
    const result = await orchestrator.run('research-draft-review', { intent: 'WAL explained' }).result;
    expect(DocumentSchema.safeParse(result.output).success).toBe(true);
    expect(DocumentSchema.safeParse({ title: '', body: 'x' }).success).toBe(false);
  });
});
