/**
 * The package as an app on its own zod installs it: the packed tarball beside zod 4.1 (the
 * oldest minor the range is tested with) or the newest zod 4, with TypeScript. The app's
 * `z.object(...)` output types flow into the package's types, and node_modules holds one
 * zod. Installs from the npm registry (cached after the first run).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const typescript = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.typescript;

/** An app's use of the package with its own zod schemas; `tsc` must accept it as is. */
const APP = `import { z } from 'zod';
import { agentStage, defineAgent, defineMacro, MacroOrchestrator } from 'macro-orchestrator';

const Draft = z.object({ title: z.string(), words: z.number() });
const writer = defineAgent({ id: 'writer', output: Draft, invoke: async () => ({ title: 'WAL', words: 3 }) });
const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('s', writer, { output: Draft })] });
const orchestrator = new MacroOrchestrator({ agents: [writer], macros: [macro] });
const result = await orchestrator.run('m', { intent: 'x' });
const title: string | undefined = result.output?.title;
console.log(JSON.stringify({ status: result.status, title }));
`;

let tarball: string;
const dirs: string[] = [];

beforeAll(async () => {
  const packDir = mkdtempSync(join(tmpdir(), 'mo-pack-'));
  dirs.push(packDir);
  const { stdout } = await exec(npm, ['pack', '--silent', '--pack-destination', packDir], { cwd: root });
  tarball = join(packDir, stdout.trim().split('\n').at(-1) ?? '');
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function app(zod: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mo-app-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['app.ts'],
    }),
  );
  writeFileSync(join(dir, 'app.ts'), APP);
  await exec(
    npm,
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `zod@${zod}`,
      `typescript@${typescript}`,
      '@types/node@20',
    ],
    { cwd: dir, timeout: 240_000 },
  );
  return dir;
}

describe.each(['4.1', 'latest'])('an app on zod %s', (zod) => {
  let dir: string;
  beforeAll(async () => {
    dir = await app(zod);
  }, 300_000);

  it('has one zod in node_modules', async () => {
    const { stdout } = await exec(npm, ['ls', 'zod', '--all', '--parseable'], { cwd: dir });
    expect(stdout.trim().split('\n')).toEqual([join(dir, 'node_modules', 'zod')]);
  });

  it("type-checks its own z.object outputs against the package's types", async () => {
    const { stdout, stderr } = await exec(
      process.execPath,
      [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir],
      {
        cwd: dir,
      },
    ).catch((error: { stdout: string; stderr: string }) => error);
    expect(`${stdout}${stderr}`).toBe('');
  }, 60_000);
});
