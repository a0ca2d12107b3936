/**
 * The JSON Schema of a macro definition, for authoring macros as JSON or YAML with an
 * editor's completion and checks. Functions (predicate gates, input mappers, merges,
 * `deliver`) and zod schemas cannot be written in JSON: the schema accepts anything there,
 * and the orchestrator checks them when the macros are loaded.
 * @module
 */
import { z } from 'zod';
import { MacroDefinitionSchema } from './types.js';

/**
 * The JSON Schema (draft 2020-12) of one macro definition (`MacroDefinition`, as input:
 * defaults optional).
 * @example
 * await writeFile('macro.schema.json', JSON.stringify(macroJsonSchema(), null, 2));
 */
export function macroJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(MacroDefinitionSchema, {
    io: 'input',
    unrepresentable: 'any', // functions and zod schemas: checked when the macros are loaded
    cycles: 'ref',
  });
  return {
    ...schema,
    $id: 'https://macro-orchestrator.dev/schemas/macro-definition.json',
    title: 'MacroDefinition',
    description: 'A macro-orchestrator macro: its stages, gates, fallback and defaults.',
  };
}
