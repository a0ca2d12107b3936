/**
 * The live progress display on a real pseudo-terminal: the command line (src/cli.ts under
 * tsx) runs under util-linux `script`, which gives it a TTY, and what it drew is read back.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { folder, useTempFolder, write } from './harness.js';

useTempFolder();

const SCRIPT = '/usr/bin/script';
/** The escape sequence that moves the cursor one row up. */
const CURSOR_UP = '\u001B[1A';
const TSX = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;
const AGENTS = `
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const agents = [{ id: 'echo', invoke: async () => { await wait(250); return 'done'; } }];
export const macros = [{ name: 'hello', description: 'two slow echoes', stages: [
  { kind: 'agent', id: 'a', agent: 'echo' }, { kind: 'agent', id: 'b', agent: 'echo' } ] }];
`;

if (!existsSync(SCRIPT))
  console.warn(`\n*** SKIPPING the pseudo-terminal tests: no ${SCRIPT} (util-linux) ***\n`);

/** Runs `macro-orchestrator run hello` on a 100 × 30 pseudo-terminal, with `env` added. */
async function onTerminal(env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  await write('agents.mjs', AGENTS);
  const command = `stty cols 100 rows 30; exec "${process.execPath}" --import ${TSX} ${join(process.cwd(), 'src/cli.ts')} run hello --file agents.mjs --intent hi`;
  const { CI: _ci, ...inherited } = process.env;
  const child = spawn(SCRIPT, ['-qefc', command, '/dev/null'], {
    cwd: folder.path,
    env: { ...inherited, TERM: 'xterm', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let screen = '';
  child.stdout.on('data', (chunk) => {
    screen += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, screen };
}

describe.skipIf(!existsSync(SCRIPT))('on a terminal', () => {
  it('draws the stage tree live, redrawn in place, and leaves the last frame on screen', async () => {
    const { code, screen } = await onTerminal({});
    expect(code).toBe(0);
    // Each frame after the first moves the cursor up over the rows it replaces.
    expect(screen).toContain(CURSOR_UP);
    expect(screen).toContain(' running · echo · ');
    const last = stripVTControlCharacters(screen.slice(screen.lastIndexOf('■ hello'))).split('\r\n');
    expect(last[0]).toMatch(/^■ hello · run [\w-]+ · succeeded · \d+ ms · 2\/2 stages ended$/);
    expect(last[1]).toMatch(/^ {2}✓ a {2}succeeded · echo · \d+ ms$/);
    expect(last[2]).toMatch(/^ {2}✓ b {2}succeeded · echo · \d+ ms$/);
    expect(last[3]).toBe('done');
    expect(screen).not.toContain('▸ hello/a');
  }, 30_000);

  it('prints plain lines on a terminal when CI is set', async () => {
    const { code, screen } = await onTerminal({ CI: 'true' });
    expect(code).toBe(0);
    expect(screen).toContain('▸ hello/a');
    expect(screen).not.toContain(CURSOR_UP);
  }, 30_000);
});
