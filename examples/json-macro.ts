/**
 * A macro authored as JSON (examples/macros/brief.json): agents by id, predicate gates by
 * the name of a check in the orchestrator's `predicates`, validated by the same schemas,
 * with the same errors, as a macro written in code. Point an editor's
 * `$schema` at `macro-orchestrator/schema.json` for completion while writing one.
 * `npx tsx examples/json-macro.ts` (or `npx macro-orchestrator validate examples/macros/brief.json`)
 */
import { readFile } from 'node:fs/promises';
import { type MacroDefinition, MacroOrchestrator } from '../src/index.js';
import { localAgents } from './local-agents.js';

const brief = JSON.parse(
  await readFile(new URL('macros/brief.json', import.meta.url), 'utf8'),
) as MacroDefinition;
// Validated here: an unknown agent id or check name, a missing field or a wrong type
// throws MACRO_CONFIGURATION with the path of every problem.
const orchestrator = new MacroOrchestrator({
  agents: localAgents(),
  macros: [brief],
  predicates: { 'non-empty': (output) => output !== undefined && output !== null && output !== '' },
});

const result = await orchestrator.run('json-brief', {
  intent: 'Why checkpoints make agent runs resumable',
  knowledge: [{ id: 'ckpt', title: 'Checkpoints', content: 'A finished stage is stored with its output.' }],
}).result;
console.log(`status: ${result.status}`);
for (const [path, stage] of Object.entries(result.stages)) console.log(`${path}: ${stage.status}`);
