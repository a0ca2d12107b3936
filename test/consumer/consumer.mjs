// Imports the BUILT package through its `exports` map (package self-reference, ESM).
import { createRequire } from 'node:module';
import {
  agentStage,
  defineAgent,
  defineMacro,
  isMacroError,
  MacroError,
  MacroOrchestrator,
  runMacro,
} from 'macro-orchestrator';

const upper = defineAgent({ id: 'upper', invoke: (text) => text.toUpperCase() });
const shout = defineMacro({
  name: 'shout',
  description: 'Upper-cases the intent',
  stages: [agentStage('up', upper)],
});

const run = runMacro('shout', { intent: 'hello from esm' }, { agents: [upper], macros: [shout] });
const stages = [];
run.on('stage:end', (event) => stages.push(`${event.path}:${event.status}`));
const result = await run;

let notFound = '';
try {
  new MacroOrchestrator({ agents: [upper], macros: [shout] }).run('missing', { intent: 'x' });
} catch (error) {
  notFound = isMacroError(error) ? error.code : 'not a MacroError';
}

// The CommonJS copy loaded next to this one: its errors are not `instanceof` our
// MacroError, but `isMacroError` still recognises them by their code.
const require = createRequire(import.meta.url);
const cjs = require('macro-orchestrator');
let crossCopy = {};
try {
  new cjs.MacroOrchestrator({ agents: [upper], macros: [shout] }).run('missing', { intent: 'x' });
} catch (error) {
  crossCopy = { instanceOf: error instanceof MacroError, isMacroError: isMacroError(error) };
}

const resolved = import.meta.resolve('macro-orchestrator');
console.log(
  JSON.stringify({
    format: 'esm',
    resolved,
    status: result.status,
    output: result.output,
    stages,
    notFound,
    crossCopy,
  }),
);
