/**
 * The main job (`npm start`): runs a built-in macro end to end on deterministic local
 * agents, prints the event stream as it goes, and writes the result and a report.
 *
 *   npm start -- [macro-name] [out-dir]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type MacroEvent, MacroOrchestrator, renderReport } from '../src/index.js';
import { SqliteMemory } from '../src/sqlite.js';
import { aiBrief } from './ai-models.js';
import { localAgents } from './local-agents.js';

const macro = (process.argv[2] ?? 'research-draft-review') as 'research-draft-review';
const outDir = resolve(process.argv[3] ?? 'out');

const guidance = await readFile(new URL('../AGENTS.md', import.meta.url), 'utf8').catch(() => '');
// Embedded durable memory: every run, checkpoint and audit record lands in <out-dir>/runs.db.
await mkdir(outDir, { recursive: true });
const memory = new SqliteMemory(resolve(outDir, 'runs.db'));
// `ai-brief` runs on AI SDK models (mock ones unless OPENAI_API_KEY is set); the others on local agents.
const ai = macro === ('ai-brief' as string) ? await aiBrief() : undefined;
if (ai !== undefined) console.log(`(on ${ai.provider})`);
const orchestrator = new MacroOrchestrator(
  ai === undefined
    ? { agents: localAgents({ latencyMs: 20 }), memory }
    : { agents: ai.agents, macros: ai.macros, memory },
);

const contexts: Record<string, Parameters<typeof orchestrator.run>[1]> = {
  'research-draft-review': {
    intent: 'How SQLite WAL mode keeps readers and writers apart',
    guidance,
    knowledge: [
      {
        id: 'wal',
        title: 'Write-ahead log',
        content: 'Changes append to a WAL file; readers keep reading the database.',
        source: 'https://sqlite.org/wal.html',
      },
      {
        id: 'ckpt',
        title: 'Checkpoints',
        content: 'A checkpoint moves WAL content back into the database file.',
        source: 'https://sqlite.org/wal.html#ckpt',
      },
    ],
    metadata: { requester: 'npm start' },
  },
  'code-review': { intent: 'if (x == 1) { eval(input); items.forEach(save) }', guidance },
  'incident-triage': { intent: 'Checkout API 5xx spike, all users in EU see errors', guidance },
  'release-notes': {
    intent: 'feat: resumable runs; fix: timeout leak; chore: bump deps',
    guidance,
    metadata: { version: '0.2.0' },
  },
};

const context = ai?.context ?? contexts[macro] ?? { intent: macro, guidance };
const run = orchestrator.run(macro, context);
const indent = (e: MacroEvent) => '  '.repeat(Math.max(0, e.path.split('/').length - 1));

console.log(`▶ ${macro}  (run ${run.runId})`);
let streaming = false;
for await (const event of run) {
  if (streaming && event.type !== 'stage:progress') {
    process.stdout.write('\n'); // the streamed text ends before the next line
    streaming = false;
  }
  switch (event.type) {
    case 'stage:start':
      console.log(
        `${indent(event)}▸ ${event.path} [${event.kind}]${event.attempt > 1 ? ` attempt ${event.attempt}` : ''}`,
      );
      break;
    case 'stage:progress':
      // Streamed tokens as they come; a newline before the phase's end.
      if (event.data.type === 'text-delta') process.stdout.write(event.data.text);
      streaming ||= event.data.type === 'text-delta';
      continue;
    case 'phase:end':
      console.log(`${indent(event)}  · ${event.phase} ${event.status} (${event.durationMs} ms)`);
      break;
    case 'gate':
      console.log(
        event.verdict.passed
          ? `${indent(event)}  ✓ gate ${event.verdict.gate}: passed`
          : `${indent(event)}  ✗ gate ${event.verdict.gate}: failed — ${event.verdict.feedback ?? ''}`,
      );
      break;
    case 'stage:end':
      console.log(`${indent(event)}◂ ${event.path} ${event.status} (${event.durationMs} ms)`);
      break;
    case 'retry':
      console.log(`${indent(event)}  ↻ retry after ${event.delayMs} ms: ${event.error.message}`);
      break;
    case 'fallback':
      console.log(`  ⤷ fallback ${event.from} → ${event.to}`);
      break;
    case 'decision':
      console.log(`${indent(event)}  ⚖ decision ${event.id} (${event.strategy}): ${event.rationale ?? ''}`);
      break;
    case 'artefact':
      console.log(`${indent(event)}  ⬚ artefact ${event.artefact.name}`);
      break;
    case 'run:end':
      console.log(`■ ${event.status} in ${event.durationMs} ms`);
      break;
  }
}

const result = await run;
const stored = await orchestrator.loadResult(run.runId);
if (stored === undefined) throw new Error('the result was not persisted');
await memory.close();
await writeFile(resolve(outDir, `${macro}.result.json`), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(resolve(outDir, `${macro}.report.md`), renderReport(result));
for (const artefact of result.artefacts) {
  await writeFile(resolve(outDir, artefact.name.replace(/[^\w.-]+/g, '_')), String(artefact.content));
}
console.log(
  `\nWrote ${outDir}/${macro}.result.json, ${macro}.report.md and ${result.artefacts.length} artefact(s); the run is stored in ${outDir}/runs.db.`,
);
process.exitCode = result.status === 'succeeded' ? 0 : 1;
