/**
 * Delivery's artefact shaping: a stage's `deliver` output, validated and stamped with its path.
 * @internal
 * @module
 */
import { MacroError, wrapUserError } from '../errors.js';
import { type Artefact, type ArtefactInput, ArtefactSchema } from '../model/artefact.js';
import type { MacroContext } from '../model/context.js';

/** Calls `deliver` and validates each artefact it returns. */
export function shapeArtefacts(
  deliver: (output: any, context: MacroContext) => readonly ArtefactInput[],
  output: unknown,
  context: MacroContext,
  path: string,
): Artefact[] {
  let raw: readonly unknown[];
  try {
    raw = deliver(output, context);
  } catch (error) {
    throw wrapUserError(error, path, 'deliver');
  }
  return raw.map((item, i) => {
    const parsed = ArtefactSchema.safeParse({ path, ...(item as object) });
    if (!parsed.success) {
      throw new MacroError('STAGE_FAILED', `deliver returned an invalid artefact [${i}] at ${path}`, {
        cause: parsed.error,
        path,
      });
    }
    return { ...parsed.data, path };
  });
}
