/**
 * pino is loaded only when a logger at a level other than `silent` is made, in both
 * builds: fresh processes load dist/ and say whether pino's module was loaded. (Out of
 * process: left out of mutation runs, vitest.mutation.config.ts.)
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('pino in the built package', () => {
  it('loads pino in the CommonJS build where a global document exists (a jsdom test environment)', () => {
    const code = `
      globalThis.document = { baseURI: 'http://localhost/main.js' };
      const { MacroOrchestrator } = require(${JSON.stringify(`${process.cwd()}/dist/index.cjs`)});
      const orchestrator = new MacroOrchestrator({ macros: [], logLevel: 'info' });
      console.log(orchestrator.logger.isLevelEnabled('info'));`;
    const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('true');
  });

  it.each([
    ['index.js', 'silent', false],
    ['index.js', 'info', true],
    ['index.cjs', 'silent', false],
    ['index.cjs', 'info', true],
  ])('loads pino from dist/%s only when a run logs (logLevel %s: %s)', (file, level, loaded) => {
    // A fresh process: does running a macro at this level load pino's module?
    const code = `
      const { createRequire } = require('node:module');
      const load = (p) => import(p);
      (async () => {
        const { MacroOrchestrator, defineMacro, agentStage } = await load(${JSON.stringify(`${process.cwd()}/dist/${file}`)});
        const macro = defineMacro({ name: 'm', description: 'd', stages: [agentStage('a', 'echo')] });
        const agents = [{ id: 'echo', invoke: () => 'ok' }];
        await new MacroOrchestrator({ agents, macros: [macro], logLevel: '${level}' }).run('m', { intent: 'x' });
        const cache = createRequire(${JSON.stringify(`${process.cwd()}/`)}).cache;
        console.log(Object.keys(cache).some((path) => /[\\/]node_modules[\\/]pino[\\/]/.test(path)));
      })();`;
    const child = spawnSync(process.execPath, ['-e', code], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(child.stdout.trim()).toBe(String(loaded));
  });
});
