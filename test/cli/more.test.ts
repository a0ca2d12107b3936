/**
 * The command line's other paths: help, file errors, what a run prints for retries,
 * gates, decisions, routes and fallbacks, a context file, and the memory it is told to use.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openMemory } from '../../src/cli/memory.js';
import { cli, folder, useTempFolder, write } from './harness.js';

useTempFolder();

/** Agents and macros that retry, fail a gate, decide by majority and fall back. */
const EVENTFUL = `
let flaky = 0;
let drafts = 0;
export const agents = [
  { id: 'flaky', invoke: () => { if (++flaky === 1) throw Object.assign(new Error('overloaded'), { status: 503 }); return 'ok'; } },
  { id: 'drafter', invoke: () => 'draft ' + ++drafts },
  { id: 'yes', invoke: () => 'yes' },
  { id: 'no', invoke: () => 'no' },
  { id: 'broken', invoke: () => { throw new Error('gone'); } },
];
export const macros = [
  { name: 'eventful', description: 'd', fallback: 'plan-b', stages: [
    { kind: 'retryable', retry: { retries: 1, minDelayMs: 1, jitter: false }, stage: { kind: 'agent', id: 'a', agent: 'flaky' } },
    { kind: 'agent', id: 'd', agent: 'drafter', gates: [{ kind: 'predicate', id: 'second', check: (t) => t === 'draft 2', feedback: 'again' }] },
    { kind: 'parallel', id: 'vote', harmony: { strategy: 'majority' }, branches: [
      { kind: 'agent', id: 'y1', agent: 'yes' }, { kind: 'agent', id: 'y2', agent: 'yes' }, { kind: 'agent', id: 'n', agent: 'no' } ] },
    { kind: 'route', id: 'pick', select: () => 'zzz', default: 'only', cases: { only: { kind: 'agent', id: 'o', agent: 'yes' } } },
    { kind: 'agent', id: 'end', agent: 'broken' },
  ] },
  { name: 'plan-b', description: 'd', stages: [{ kind: 'agent', id: 'b', agent: 'yes' }] },
];
`;

/** A macro of one agent stage whose gate names its check `check`, as JSON holds it. */
const named = (check: string) => ({
  name: 'named',
  description: 'd',
  stages: [{ kind: 'agent', id: 's', agent: 'w', gates: [{ kind: 'predicate', id: 'g', check }] }],
});

describe('help and mistakes', () => {
  it('prints the usage for help, exit 0, and with no command, exit 2', async () => {
    expect(await cli('help')).toMatchObject({ code: 0, out: expect.stringContaining('Commands:') });
    expect(await cli('--help')).toMatchObject({ code: 0 });
    expect(await cli()).toMatchObject({ code: 2, out: expect.stringContaining('Usage:') });
  });

  it('refuses extra arguments and a missing target', async () => {
    expect(await cli('graph', 'a', 'b')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unexpected arguments: b'),
    });
    expect(await cli('validate')).toMatchObject({
      code: 2,
      err: expect.stringContaining('validate needs a file'),
    });
  });

  it.each([
    ['m.json', '{ not json', 'm.json is not valid JSON'],
    ['m.yaml', 'stages: [unclosed', 'm.yaml is not valid YAML'],
    ['m.mjs', 'export const x = ;', 'cannot load m.mjs'],
    ['m.json', '42', 'm.json holds no macros'],
    ['m.json', '{ "other": 1 }', 'm.json defines no macros'],
  ])('says what is wrong with %s (%s)', async (name, text, message) => {
    await write(name, text);
    const { code, err } = await cli('validate', name);
    expect(code).toBeGreaterThan(0);
    expect(err).toContain(message);
  });

  it('validates a JSON macro whose gate names its check, which only a run needs', async () => {
    await write('named.json', JSON.stringify([named('short')]));
    expect(await cli('validate', 'named.json')).toMatchObject({ code: 0 });
  });

  it("checks the names against a module's predicates when it exports them", async () => {
    await write(
      'named.mjs',
      `export const predicates = { short: (text) => text.length < 10 };
export const macros = [${JSON.stringify(named('shrot'))}];`,
    );
    const { code, err } = await cli('validate', 'named.mjs');
    expect(code).toBe(1);
    expect(err).toContain(
      'macros[0].stages[0].gates[0].check: Unknown predicate "shrot" in macro "named" (known: short)',
    );
  });

  it('runs a JSON macro with the predicates of the --agents module', async () => {
    await write('named.json', JSON.stringify(named('short')));
    await write(
      'agents.mjs',
      `export const agents = [{ id: 'w', invoke: () => 'tiny' }];
export const predicates = { short: (text) => text.length < 10 };`,
    );
    const { code, out } = await cli(
      'run',
      'named',
      '--file',
      'named.json',
      '--agents',
      'agents.mjs',
      '--intent',
      'x',
    );
    expect(code).toBe(0);
    expect(out).toContain('  ✓ gate g');
  });

  it('validates macros that name built-in macros as sub-macros or fallbacks', async () => {
    await write(
      'm.json',
      JSON.stringify([
        {
          name: 'wrap',
          description: 'd',
          fallback: 'release-notes-minimal',
          stages: [{ kind: 'macro', id: 'in', macro: 'code-review' }],
        },
      ]),
    );
    expect(await cli('validate', 'm.json')).toMatchObject({ code: 0 });
  });

  it('names the file when a graph names a macro it does not hold', async () => {
    await write(
      'm.json',
      JSON.stringify([{ name: 'one', description: 'd', stages: [{ kind: 'agent', id: 's', agent: 'w' }] }]),
    );
    expect((await cli('graph', 'two', '--file', 'm.json')).err).toContain(
      'no macro "two" in m.json or the built-ins',
    );
  });
});

describe('run', () => {
  it('prints retries, gate verdicts, decisions, routes and the fallback as lines', async () => {
    await write('m.mjs', EVENTFUL);
    const { code, out } = await cli('run', 'eventful', '--file', 'm.mjs', '--intent', 'x');
    expect(code).toBe(0);
    for (const line of [
      '  ↻ retry in 1 ms: Agent "flaky" failed at eventful/a: overloaded',
      '▸ eventful/a (attempt 2)',
      '  ✖ gate second: again',
      '  ✓ gate second',
      '  ⚖ majority: ',
      '  ⑂ case only (default; selected "zzz")',
      '  ✖ eventful/end failed in ',
      '⤷ fallback eventful → plan-b',
      '■ succeeded in ',
    ]) {
      expect(out).toContain(line);
    }
  });

  it('takes the context from a JSON file, and says what is wrong with one it cannot read', async () => {
    await write('m.mjs', EVENTFUL);
    await write('context.json', JSON.stringify({ intent: 'from a file' }));
    expect((await cli('run', 'plan-b', '--file', 'm.mjs', '--context', 'context.json')).code).toBe(0);
    await write('bad.json', '{');
    const { code, err } = await cli('run', 'plan-b', '--file', 'm.mjs', '--context', 'bad.json');
    expect(code).toBe(1);
    expect(err).toContain('INVALID_OPTIONS: --context bad.json: ');
  });

  it('opens a sqlite memory at the path, relative to the folder, and closes it', async () => {
    const memory = await openMemory('sqlite:runs.db', folder.path);
    await expect(memory.adapter.listRuns()).resolves.toEqual([]);
    await memory.close();
    await expect(memory.adapter.listRuns()).rejects.toThrow(
      'SqliteMemory listRuns after close(): the adapter is closed',
    );
    expect(existsSync(join(folder.path, 'runs.db'))).toBe(true);
  });

  it('refuses a sqlite memory without a path', async () => {
    expect((await cli('run', 'x', '--intent', 'x', '--memory', 'sqlite:')).err).toContain(
      'needs a file path',
    );
  });

  it('fails a run of a macro it does not know with the configuration error', async () => {
    const { code, err } = await cli('run', 'nope', '--intent', 'x', '--memory', 'memory');
    expect(code).toBe(1);
    expect(err).toContain('nope');
  });
});
