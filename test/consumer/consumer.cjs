// Requires the BUILT package through its `exports` map (package self-reference, CommonJS).
const {
  agentStage,
  defineAgent,
  defineMacro,
  isMacroError,
  MacroOrchestrator,
  runMacro,
} = require('macro-orchestrator');

const upper = defineAgent({ id: 'upper', invoke: (text) => text.toUpperCase() });
const shout = defineMacro({
  name: 'shout',
  description: 'Upper-cases the intent',
  stages: [agentStage('up', upper)],
});

async function main() {
  const run = runMacro('shout', { intent: 'hello from cjs' }, { agents: [upper], macros: [shout] });
  const stages = [];
  run.on('stage:end', (event) => stages.push(`${event.path}:${event.status}`));
  const result = await run;

  let notFound = '';
  try {
    new MacroOrchestrator({ agents: [upper], macros: [shout] }).run('missing', { intent: 'x' });
  } catch (error) {
    notFound = isMacroError(error) ? error.code : 'not a MacroError';
  }

  const resolved = require.resolve('macro-orchestrator');
  console.log(
    JSON.stringify({
      format: 'cjs',
      resolved,
      status: result.status,
      output: result.output,
      stages,
      notFound,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
