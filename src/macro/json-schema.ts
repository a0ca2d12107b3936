/**
 * The JSON Schema of a macro definition, for authoring macros as JSON or YAML with an
 * editor's completion and checks. Functions (predicate gates, input mappers, merges,
 * `deliver`) and zod schemas cannot be written in JSON: the schema accepts anything there,
 * and the orchestrator checks them when the macros are loaded.
 * @module
 */
import { z } from 'zod';
import { NamedCheckSchema } from './schema-parts.js';
import { MacroDefinitionSchema } from './types.js';

/** Every JSON Schema type: what is none of them is a value JSON cannot hold (a function). */
const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'null', 'array', 'object'];

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
    // A predicate's check: in JSON, a name; in code, a function, which is no JSON type at all
    // (so a macro written in code validates too, and a number or an object does not).
    override: (ctx) => {
      if (ctx.zodSchema === NamedCheckSchema) {
        for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
        Object.assign(ctx.jsonSchema, {
          anyOf: [{ type: 'string', minLength: 1 }, { not: { type: JSON_TYPES } }],
        });
      }
    },
  });
  return {
    ...schema,
    $id: 'https://macro-orchestrator.dev/schemas/macro-definition.json',
    title: 'MacroDefinition',
    description: 'A macro-orchestrator macro: its stages, gates, fallback and defaults.',
  };
}
