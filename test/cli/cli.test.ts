/**
 * The command line (`macro-orchestrator`), run in-process through `main` with its output
 * captured, and as a child process for Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agentStage, defineMacro, type MacroEvent, MacroOrchestrator } from '../../src/index.js';
import { SqliteMemory } from '../../src/sqlite.js';
import { unmatched } from '../support/index.js';
import { cli, folder, useTempFolder, write } from './harness.js';

useTempFolder();

const AGENTS = `
export const agents = [
  { id: 'echo', invoke: (input) => 'echo: ' + (typeof input === 'string' ? input : input.intent ?? JSON.stringify(input)) },
  { id: 'broken', invoke: () => { throw Object.assign(new Error('model down'), { status: 401 }); } },
  { id: 'slow', invoke: (_input, { signal }) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve('late'), 60_000);
      signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); });
    }) },
];
export const macros = [
  { name: 'hello', description: 'two echoes', stages: [
    { kind: 'agent', id: 'a', agent: 'echo' }, { kind: 'agent', id: 'b', agent: 'echo' } ] },
  { name: 'fails', description: 'one broken stage', stages: [
    { kind: 'agent', id: 'a', agent: 'echo' }, { kind: 'agent', id: 'b', agent: 'broken' } ] },
  { name: 'waits', description: 'an echo, then a slow stage', stages: [
    { kind: 'agent', id: 'a', agent: 'echo' }, { kind: 'agent', id: 'b', agent: 'slow' } ] },
];
`;
/** tsx's loader, by its file URL: the child runs in a temporary folder, where `tsx` does not resolve. */
const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;

describe('validate', () => {
  it('passes the macros of a JSON file, naming them', async () => {
    await write(
      'm.json',
      JSON.stringify([{ name: 'one', description: 'd', stages: [{ kind: 'agent', id: 's', agent: 'w' }] }]),
    );
    expect(await cli('validate', 'm.json')).toEqual({
      code: 0,
      out: '✓ m.json: 1 macro valid (one)\n',
      err: '',
    });
  });

  it('lists every issue with where it is, and exits 1', async () => {
    await write(
      'm.json',
      JSON.stringify({
        macros: [{ name: 'one', description: '', stages: [{ kind: 'agent', id: 'a b', agent: 'w' }] }],
      }),
    );
    const { code, err } = await cli('validate', 'm.json');
    expect(code).toBe(1);
    expect(err).toContain('✖ m.json: 2 issues');
    expect(err).toContain('  macros[0].description: description must not be empty');
    expect(err).toContain('  macros[0].stages[0].id: ');
  });

  it('reads YAML', async () => {
    await write('m.yaml', 'name: one\ndescription: d\nstages:\n  - kind: agent\n    id: s\n    agent: w\n');
    expect((await cli('validate', 'm.yaml')).code).toBe(0);
  });

  it("checks a module's macros against its own agents", async () => {
    await write(
      'agents.mjs',
      `${AGENTS}\nexport const extra = { name: 'extra', description: 'd', stages: [{ kind: 'agent', id: 's', agent: 'nobody' }] };`,
    );
    const { code, err } = await cli('validate', 'agents.mjs');
    expect(code).toBe(1);
    expect(err).toContain('Unknown agent "nobody" in macro "extra"');
  });

  it('says so when a file cannot be read, exit 2', async () => {
    const { code, err } = await cli('validate', 'missing.json');
    expect(code).toBe(2);
    expect(err).toContain('cannot read missing.json');
  });
});

describe('graph and schema', () => {
  it('prints a built-in macro as a Mermaid flowchart', async () => {
    const { code, out } = await cli('graph', 'code-review');
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toBe('flowchart TD');
  });

  it("prints a file's macro, and refuses a name it does not know", async () => {
    await write('agents.mjs', AGENTS);
    expect((await cli('graph', 'hello', '--file', 'agents.mjs')).out).toContain('a · agent: echo');
    expect(await cli('graph', 'nope')).toMatchObject({
      code: 2,
      err: expect.stringContaining('no macro "nope"'),
    });
  });

  it('prints the JSON Schema of a macro definition', async () => {
    const { out } = await cli('schema');
    expect(JSON.parse(out)).toMatchObject({ title: 'MacroDefinition', type: 'object' });
  });
});

describe('run, show and resume', () => {
  it('runs a macro, printing a line per stage and the output', async () => {
    await write('agents.mjs', AGENTS);
    const { code, out } = await cli('run', 'hello', '--file', 'agents.mjs', '--intent', 'hi');
    expect(code).toBe(0);
    expect(out).toMatch(/^▶ hello \(run [\w-]+\)\n {2}▸ hello\/a\n {2}✓ hello\/a succeeded in \d+ ms\n/);
    expect(out.trimEnd().split('\n').at(-1)).toBe('echo: echo: hi');
  });

  it('prints NDJSON events and the result with --json, and writes the report', async () => {
    await write('agents.mjs', AGENTS);
    const { code, out } = await cli(
      'run',
      'hello',
      '--agents',
      'agents.mjs',
      '--file',
      'agents.mjs',
      '--intent',
      'hi',
      '--json',
      '--report',
      'r.md',
    );
    expect(code).toBe(0);
    const lines = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; seq?: number });
    expect(lines[0]?.type).toBe('run:start');
    expect(lines.at(-1)).toMatchObject({
      type: 'result',
      result: { status: 'succeeded', output: 'echo: echo: hi' },
    });
    const seqs = lines.slice(0, -1).map((line) => line.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => (a as number) - (b as number)));
    expect(await readFile(join(folder.path, 'r.md'), 'utf8')).toContain('# Run report: `hello`');
  });

  it('exits 1 on a failed run, saying why and what finished', async () => {
    await write('agents.mjs', AGENTS);
    const { code, err } = await cli('run', 'fails', '--file', 'agents.mjs', '--intent', 'hi');
    expect(code).toBe(1);
    expect(err).toContain('AGENT_FAILED');
    expect(err).toContain('(1 stages finished, kept in the result)');
  });

  it('shows a stored run as its report, or its result with --json', async () => {
    await write('agents.mjs', AGENTS);
    const ran = await cli(
      'run',
      'hello',
      '--file',
      'agents.mjs',
      '--intent',
      'hi',
      '--memory',
      'sqlite:runs.db',
      '--json',
    );
    const runId = (
      JSON.parse(ran.out.trimEnd().split('\n').at(-1) as string) as { result: { runId: string } }
    ).result.runId;
    expect((await cli('show', runId, '--memory', `sqlite:${join(folder.path, 'runs.db')}`)).out).toContain(
      '# Run report: `hello`',
    );
    const json = await cli('show', runId, '--memory', `sqlite:${join(folder.path, 'runs.db')}`, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ runId, status: 'succeeded' });
    expect(await cli('show', 'nope', '--memory', `sqlite:${join(folder.path, 'runs.db')}`)).toMatchObject({
      code: 1,
    });
  });

  it('resumes an interrupted run without running its finished stages again', async () => {
    const path = join(folder.path, 'runs.db');
    const memory = new SqliteMemory(path);
    let echoes = 0;
    let reached!: () => void;
    const stuck = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const macro = defineMacro({
      name: 'waits',
      description: 'an echo, then a slow stage',
      stages: [agentStage('a', 'echo'), agentStage('b', 'slow')],
    });
    const agents = [
      { id: 'echo', invoke: () => `echo ${++echoes}` },
      {
        id: 'slow',
        invoke: () => {
          reached();
          return new Promise(() => {});
        },
      },
    ];
    const { runId } = new MacroOrchestrator({ agents, macros: [macro], memory, durability: 'sync' }).run(
      'waits',
      {
        intent: 'hi',
      },
    );
    await stuck;
    await memory.close(); // the process "dies" with stage b running
    await write('agents.mjs', AGENTS.replace("resolve('late'), 60_000", "resolve('late'), 1"));
    const { code, out } = await cli('resume', runId, '--file', 'agents.mjs', '--memory', `sqlite:${path}`);
    expect(code).toBe(0);
    expect(out).toContain('waits/a restored');
    expect(out.trimEnd().split('\n').at(-1)).toBe('late');
    expect(echoes).toBe(1);
  });

  it('runs a macro to its approval, then resumes it with --input', async () => {
    const path = join(folder.path, 'runs.db');
    await write(
      'approve.mjs',
      `export const agents = [{ id: 'echo', invoke: (x) => 'echo: ' + JSON.stringify(x) }];
export const macros = [{ name: 'gated', description: 'd', stages: [
  { kind: 'approval', id: 'ok', prompt: 'Go?' }, { kind: 'agent', id: 'after', agent: 'echo' } ] }];`,
    );
    const first = await cli(
      'run',
      'gated',
      '--file',
      'approve.mjs',
      '--memory',
      `sqlite:${path}`,
      '--intent',
      'x',
    );
    expect(first.out).toContain('⏸ suspended, waiting for input (resume with --input <json>)');
    const runId = (/run ([\w-]+)\)/.exec(first.out) as RegExpExecArray)[1] as string;
    const bad = await cli(
      'resume',
      runId,
      '--file',
      'approve.mjs',
      '--memory',
      `sqlite:${path}`,
      '--input',
      '{',
    );
    expect(bad.err).toContain('--input is not JSON');
    const { code, out } = await cli(
      'resume',
      runId,
      '--file',
      'approve.mjs',
      '--memory',
      `sqlite:${path}`,
      '--input',
      '{"go":true}',
    );
    expect(code).toBe(0);
    expect(out.trimEnd().split('\n').at(-1)).toBe('echo: {"go":true}');
  });

  it.each([
    [['run', 'hello'], 'run needs --context <file> or --intent <text>'],
    [['resume', 'r1'], 'resume needs --memory sqlite:<path>'],
    [['run', 'hello', '--intent', 'x', '--memory', 'redis:x'], '--memory redis:x: expected sqlite:<path>'],
    [['run', '--bogus'], "Unknown option '--bogus'"],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('refuses %j with the usage, exit 2', async (args, message) => {
    const { code, err } = await cli(...args);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).toContain('Usage: macro-orchestrator <command>');
  });
});

/** Runs the real command line (src/cli.ts under tsx) as a child process in the test's folder. */
async function child(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const proc = spawn(process.execPath, ['--import', TSX, join(process.cwd(), 'src/cli.ts'), ...args], {
    cwd: folder.path,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (chunk) => {
    out += chunk;
  });
  proc.stderr.on('data', (chunk) => {
    err += chunk;
  });
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  return { code, out, err };
}

describe('the real binary', () => {
  it('validates a good file (exit 0) and a bad one (exit 1, the issue and where)', async () => {
    await write(
      'good.json',
      JSON.stringify([{ name: 'one', description: 'd', stages: [{ kind: 'agent', id: 's', agent: 'w' }] }]),
    );
    await write('bad.json', JSON.stringify([{ name: 'one', description: 'd', stages: [] }]));
    expect(await child('validate', 'good.json')).toMatchObject({
      code: 0,
      out: '✓ good.json: 1 macro valid (one)\n',
    });
    const bad = await child('validate', 'bad.json');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('macros[0].stages: a macro needs at least one stage');
  }, 30_000);

  it('prints valid NDJSON with --json, every start paired with its end', async () => {
    await write('agents.mjs', AGENTS);
    const { code, out } = await child('run', 'hello', '--file', 'agents.mjs', '--intent', 'hi', '--json');
    expect(code).toBe(0);
    const lines = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as MacroEvent | { type: 'result' });
    const events = lines.filter((line): line is MacroEvent => line.type !== 'result');
    expect(unmatched(events)).toEqual({ open: [], orphanEnds: [] });
    expect(events.filter((event) => event.type === 'stage:start')).toHaveLength(2);
    expect(lines.at(-1)?.type).toBe('result');
  }, 30_000);
});

describe('Ctrl-C', () => {
  it('cancels the running macro cleanly and says what finished', async () => {
    await write('agents.mjs', AGENTS);
    const child = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        join(process.cwd(), 'src/cli.ts'),
        'run',
        'waits',
        '--file',
        'agents.mjs',
        '--intent',
        'hi',
      ],
      { cwd: folder.path, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.includes('▸ waits/b')) resolve();
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(out).toContain('■ cancelled');
    expect(err).toContain('CANCELLED');
    expect(err).toContain('(1 stages finished, kept in the result)');
  }, 30_000);
});
