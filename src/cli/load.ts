/**
 * Loading what the command line is pointed at: macros from a module (its `macros`,
 * default export, or named exports that are macro definitions), a JSON file or a YAML file
 * (with the `yaml` package installed); agents from a module (its `agents` or default export),
 * and the named checks predicate gates may refer to (its `predicates` export).
 * @internal
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Agent } from '../agents/agent.js';
import { MacroError } from '../errors.js';
import type { MacroDefinition } from '../macro/types.js';
import type { GateCheck } from '../model/quality-gate.js';
import { UsageError } from './io.js';

/** What a file holds: macros and, from a module, agents and named gate checks. */
export interface Loaded {
  readonly macros: readonly MacroDefinition[];
  readonly agents: readonly Agent[];
  readonly predicates: Readonly<Record<string, GateCheck>>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;
const looksLikeMacro = (value: unknown) => isRecord(value) && 'stages' in value && 'name' in value;
const looksLikeAgent = (value: unknown) => isRecord(value) && typeof value['invoke'] === 'function';

/** The file's content: a module's exports, or parsed JSON or YAML. */
async function content(file: string, cwd: string): Promise<unknown> {
  const path = resolve(cwd, file);
  const ext = extname(path).toLowerCase();
  if (ext === '.json' || ext === '.yaml' || ext === '.yml') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
    }
    if (ext === '.json') {
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new MacroError('INVALID_OPTIONS', `${file} is not valid JSON: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    const yaml = await import('yaml').catch((error: unknown) => {
      throw new MacroError('INVALID_OPTIONS', `reading ${file} needs the yaml package: npm install yaml`, {
        cause: error,
      });
    });
    try {
      return yaml.parse(text);
    } catch (error) {
      throw new MacroError('INVALID_OPTIONS', `${file} is not valid YAML: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  try {
    return await import(pathToFileURL(path).href);
  } catch (error) {
    throw new UsageError(`cannot load ${file}: ${(error as Error).message}`);
  }
}

/** The macros (and agents) `file` defines. */
export async function load(file: string, cwd: string): Promise<Loaded> {
  const found = await content(file, cwd);
  if (Array.isArray(found)) return { macros: found as MacroDefinition[], agents: [], predicates: {} };
  if (looksLikeMacro(found))
    return { macros: [found as unknown as MacroDefinition], agents: [], predicates: {} };
  if (!isRecord(found)) throw new UsageError(`${file} holds no macros`);
  const macros: unknown[] = [];
  const agents: unknown[] = [];
  for (const [name, value] of Object.entries(found)) {
    if (name === 'predicates') continue;
    const values = Array.isArray(value) ? value : [value];
    if (name === 'macros' || values.every(looksLikeMacro)) macros.push(...values.filter(looksLikeMacro));
    if (name === 'agents' || values.every(looksLikeAgent)) agents.push(...values.filter(looksLikeAgent));
  }
  // A macro exported twice (in `macros` and by name) is loaded once.
  // The orchestrator checks that each is a function, and says which is not.
  const predicates = isRecord(found['predicates']) ? (found['predicates'] as Record<string, GateCheck>) : {};
  return {
    macros: [...new Set(macros)] as MacroDefinition[],
    agents: [...new Set(agents)] as Agent[],
    predicates,
  };
}
