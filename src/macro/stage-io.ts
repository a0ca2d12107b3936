/**
 * An agent stage's own functions as its attempt uses them: its input mapper, and its deliver
 * and deploy functions, each failure wrapped with the stage's path.
 * @internal
 * @module
 */
import { wrapUserError } from '../errors.js';
import { shapeArtefacts } from '../protocol/artefacts.js';
import type { CompiledAgentStage } from './compiled.js';
import type { Artefact, MacroContext } from './types.js';

/** The stage's input, through its `input` mapper if it has one. */
export function stageInput(node: CompiledAgentStage, input: unknown, context: MacroContext): unknown {
  const map = node.input;
  if (map === undefined) return input;
  try {
    return map.call(node.def, input, context); // a method of its definition
  } catch (error) {
    throw wrapUserError(error, node.path, 'input');
  }
}

/** Publishes artefacts with the stage's `deploy` function, if it has one. */
export async function deploy(
  node: CompiledAgentStage,
  artefacts: readonly Artefact[],
  context: MacroContext,
): Promise<void> {
  if (node.def.deploy === undefined) return;
  try {
    await node.def.deploy(artefacts, context);
  } catch (error) {
    throw wrapUserError(error, node.path, 'deploy');
  }
}

/** Shapes `output` into artefacts with the stage's `deliver` function (none without one). */
export function deliver(node: CompiledAgentStage, output: unknown, context: MacroContext): Artefact[] {
  const { def, path } = node;
  return def.deliver === undefined ? [] : shapeArtefacts(def.deliver, output, context, path);
}
