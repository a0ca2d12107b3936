/**
 * The command line on PostgreSQL memory (`--memory postgres://…?schema=…`), against the
 * real server on loopback: a run is stored there, `show` reads it back, `resume` finishes
 * an interrupted one without running its finished stages again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMemory, postgresSpec } from '../../src/cli/memory.js';
import { agentStage, defineMacro, MacroOrchestrator } from '../../src/index.js';
import { PostgresMemory } from '../../src/postgres.js';
import { dropSchemas, postgres, uniqueSchema } from '../support/services.js';
import { cli, useTempFolder, write } from './harness.js';

useTempFolder();

const url = await postgres();
const schemas: string[] = [];
/** The `--memory` value of a schema no other test uses. */
function memorySpec(): { spec: string; schema: string } {
  const schema = uniqueSchema('mo_cli');
  schemas.push(schema);
  return { spec: `${url}?schema=${schema}`, schema };
}

const AGENTS = `
let echoes = 0;
export const agents = [{ id: 'echo', invoke: (input) => 'echo ' + ++echoes }];
export const macros = [{ name: 'hello', description: 'two echoes', stages: [
  { kind: 'agent', id: 'a', agent: 'echo' }, { kind: 'agent', id: 'b', agent: 'echo' } ] }];
`;

describe('postgres memory specs', () => {
  it('takes the schema from the URL and passes the rest on', () => {
    expect(postgresSpec('postgres://u@h:5432/db?schema=s1&sslmode=disable')).toEqual({
      connectionString: 'postgres://u@h:5432/db?sslmode=disable',
      schema: 's1',
    });
  });

  it('passes a URL without a schema on as it is, with no schema', () => {
    expect(postgresSpec('postgresql://u@h/db')).toEqual({ connectionString: 'postgresql://u@h/db' });
  });

  it('reads the PG environment variables for postgres: alone', () => {
    expect(postgresSpec('postgres:')).toEqual({});
    expect(postgresSpec('postgresql:')).toEqual({});
  });

  it.each(['postgres:not-a-url', 'postgres://a b/db', 'postgres:x-postgres://h/db'])(
    'refuses %s, not a URL, with the usage',
    async (spec) => {
      const { code, err } = await cli('run', 'x', '--intent', 'x', '--memory', spec);
      expect(code).toBe(2);
      expect(err).toContain(`--memory ${spec}: not a URL; expected sqlite:<path> or postgres://`);
    },
  );

  it('masks the password of a spec it refuses', async () => {
    const { err } = await cli('run', 'x', '--intent', 'x', '--memory', 'postgres://app:s3cr#t@db host/app');
    expect(err).toContain('--memory postgres://app:***@db host/app: not a URL');
    expect(err).not.toContain('s3cr');
  });

  it('refuses a schema name PostgresMemory would not take', async () => {
    const { code, err } = await cli('run', 'x', '--intent', 'x', '--memory', 'postgres://h/db?schema=a;drop');
    expect(code).toBe(1);
    expect(err).toContain('INVALID_OPTIONS');
    expect(err).toContain('schema');
  });
});

describe.skipIf(url === undefined)('run, show and resume on PostgreSQL', () => {
  afterAll(() => dropSchemas(url as string, schemas));

  it('opens the memory a postgresql:// spec names too, and closes its pool', async () => {
    const { spec } = memorySpec();
    const memory = await openMemory(spec.replace(/^postgres:/, 'postgresql:'), '/');
    expect(memory.adapter).toBeInstanceOf(PostgresMemory);
    await expect(memory.adapter.listRuns()).resolves.toEqual([]);
    await memory.close();
    await expect(memory.adapter.listRuns()).rejects.toThrow('after close()');
  });

  it('stores a run there, and show prints its report', async () => {
    await write('agents.mjs', AGENTS);
    const { spec } = memorySpec();
    const ran = await cli('run', 'hello', '--file', 'agents.mjs', '--intent', 'hi', '--memory', spec);
    expect(ran.code).toBe(0);
    const runId = (/run ([\w-]+)\)/.exec(ran.out) as RegExpExecArray)[1] as string;
    expect((await cli('show', runId, '--memory', spec)).out).toContain('# Run report: `hello`');
    expect(JSON.parse((await cli('show', runId, '--memory', spec, '--json')).out)).toMatchObject({
      runId,
      status: 'succeeded',
      output: 'echo 2',
    });
  });

  it('resumes a run a process left midway without running its finished stage again', async () => {
    const { spec, schema } = memorySpec();
    let echoes = 0;
    let reached!: () => void;
    const stuck = new Promise<void>((resolve) => {
      reached = resolve;
    });
    // A short lease, so that the resuming process may take the run soon after this one stops.
    const memory = new PostgresMemory({ connectionString: url as string, schema, leaseMs: 1_000 });
    const agents = [
      { id: 'echo', invoke: () => `first ${++echoes}` },
      {
        id: 'slow',
        invoke: () => {
          reached();
          return new Promise<never>(() => {});
        },
      },
    ];
    const macro = defineMacro({
      name: 'waits',
      description: 'an echo, then a stage that never ends here',
      stages: [agentStage('a', 'echo'), agentStage('b', 'slow')],
    });
    const { runId } = new MacroOrchestrator({ agents, macros: [macro], memory, durability: 'sync' }).run(
      'waits',
      {
        intent: 'hi',
      },
    );
    await stuck;
    await memory.close(); // the process "dies" with stage b running; its lease lapses
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await write(
      'agents.mjs',
      `export const agents = [{ id: 'echo', invoke: () => 'again' }, { id: 'slow', invoke: () => 'late' }];
export const macros = [{ name: 'waits', description: 'd', stages: [
  { kind: 'agent', id: 'a', agent: 'echo' }, { kind: 'agent', id: 'b', agent: 'slow' } ] }];`,
    );
    const { code, out } = await cli('resume', runId, '--file', 'agents.mjs', '--memory', spec);
    expect(code).toBe(0);
    expect(out).toContain('waits/a restored');
    expect(out.trimEnd().split('\n').at(-1)).toBe('late');
    expect(echoes).toBe(1);
  });
});

beforeAll(() => {
  if (url === undefined) console.warn('the PostgreSQL CLI tests are skipped: no server');
});
