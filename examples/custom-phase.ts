/**
 * A custom phase of the Execution Pipeline: `Redact` masks card numbers in every agent
 * stage's output right after its draft, so QA, the gates, the events and the stored result
 * never see one. `npx tsx examples/custom-phase.ts`
 */
import {
  agentStage,
  defaultPipeline,
  defineAgent,
  defineMacro,
  ExecutionStage,
  MacroOrchestrator,
  type PipelineState,
} from '../src/index.js';

/** Masks 16-digit card numbers (with or without spaces or dashes) in a string output. */
class Redact extends ExecutionStage {
  readonly name = 'redact';
  execute(state: PipelineState): void {
    if (typeof state.output !== 'string') return;
    state.output = state.output.replace(/\b\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}\b/g, '**** **** **** ****');
  }
}

const clerk = defineAgent({
  id: 'clerk',
  description: 'Writes a refund note (and repeats the card number, as models do)',
  invoke: (amount: string) => `Refunded ${amount} to card 4111 1111 1111 1111.`,
});

const refundNote = defineMacro({
  name: 'refund-note',
  description: 'Writes the note sent with a refund',
  stages: [agentStage('note', 'clerk')],
});

// Draft first, then Redact, then the rest of the default pipeline.
const [draft, ...rest] = defaultPipeline();
const orchestrator = new MacroOrchestrator({
  agents: [clerk],
  macros: [refundNote],
  pipeline: [draft as ExecutionStage, new Redact(), ...rest],
});

const run = orchestrator.run('refund-note', { intent: 'EUR 25' }, { input: 'EUR 25' });
run.on('phase:end', (event) => console.log(`${event.path} ${event.phase}: ${event.status}`));
const result = await run.result;
console.log(`output: ${String(result.output)}`);
