/**
 * What a new user meets first: the README's examples, and a clear error when a macro
 * they run needs an agent they did not give.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agentStage,
  approval,
  builtinMacros,
  defineAgent,
  defineMacro,
  forEach,
  MacroConfigurationError,
  MacroOrchestrator,
  route,
  runMacro,
  subMacro,
} from '../src/index.js';

/** The four agents research-draft-review needs, answering with valid documents. */
const researchAgents = [
  defineAgent({
    id: 'researcher',
    invoke: (topic: string) => ({
      topic,
      notes: ['WAL keeps readers and writers apart'],
      sources: ['sqlite.org'],
    }),
  }),
  defineAgent({
    id: 'writer',
    invoke: () => ({
      title: 'WAL',
      body: 'Readers see a snapshot.',
      sources: ['https://sqlite.org/wal.html'],
    }),
  }),
  defineAgent({
    id: 'senior-writer',
    invoke: () => ({
      title: 'WAL',
      body: 'Readers see a snapshot.',
      sources: ['https://sqlite.org/wal.html'],
    }),
  }),
  defineAgent({ id: 'reviewer', invoke: (doc: unknown) => doc }),
];

describe("the README's first example", () => {
  it('runs research-draft-review with only the four agents it needs', async () => {
    const run = runMacro(
      'research-draft-review',
      { intent: 'Explain how SQLite WAL mode keeps readers and writers apart', guidance: '# AGENTS.md' },
      { agents: researchAgents, timeoutMs: 120_000 },
    );
    expect((await run).status).toBe('succeeded');
  });
});

describe('a catalogue holding macros whose agents are not given', () => {
  it('loads, and runs the macros whose agents are all there', async () => {
    const orchestrator = new MacroOrchestrator({ agents: researchAgents, macros: builtinMacros });
    expect((await orchestrator.run('research-draft-review', { intent: 'x' })).status).toBe('succeeded');
  });

  it('refuses to run a macro whose agent is missing, naming it and where it is needed', () => {
    const orchestrator = new MacroOrchestrator({ agents: researchAgents, macros: builtinMacros });
    let caught: unknown;
    try {
      orchestrator.run('code-review', { intent: 'x' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MacroConfigurationError);
    expect((caught as MacroConfigurationError).issues).toContainEqual({
      path: expect.stringMatching(/^macros\[1\]\.stages\[0\]\.branches\[0\]\.stage\.agent$/),
      message: 'Unknown agent "style-reviewer" in macro "code-review"',
    });
  });

  it('refuses to run a macro whose fallback needs a missing agent', () => {
    const main = defineMacro({
      name: 'main',
      description: 'a macro with a fallback',
      fallback: 'backup',
      stages: [agentStage('s', 'writer')],
    });
    const backup = defineMacro({
      name: 'backup',
      description: 'needs a ghost',
      stages: [agentStage('s', 'ghost')],
    });
    const orchestrator = new MacroOrchestrator({ agents: researchAgents, macros: [main, backup] });
    expect(() => orchestrator.run('main', { intent: 'x' })).toThrow(
      expect.objectContaining({
        issues: [{ path: 'macros[1].stages[0].agent', message: expect.any(String) }],
      }),
    );
  });

  it('refuses to run a macro whose sub-macro needs a missing agent', () => {
    const outer = defineMacro({
      name: 'outer',
      description: 'nests inner',
      stages: [subMacro('in', 'inner')],
    });
    const inner = defineMacro({
      name: 'inner',
      description: 'needs a ghost',
      stages: [agentStage('s', 'ghost')],
    });
    const orchestrator = new MacroOrchestrator({ agents: researchAgents, macros: [outer, inner] });
    expect(() => orchestrator.run('outer', { intent: 'x' })).toThrow(MacroConfigurationError);
  });

  it("throws at construction with checkAgents: 'catalogue'", () => {
    expect(
      () =>
        new MacroOrchestrator({ agents: researchAgents, macros: builtinMacros, checkAgents: 'catalogue' }),
    ).toThrow(MacroConfigurationError);
  });
});

describe("the README's brief: forEach, route and an approval", () => {
  const brief = defineMacro({
    name: 'brief',
    description: 'Plan, research each topic, draft, route on confidence, a person signs off, publish.',
    stages: [
      agentStage('plan', 'planner'),
      forEach('research', agentStage('study', 'researcher'), { concurrency: 4 }),
      agentStage('draft', 'writer'),
      route('check', (d: { confidence: number }) => (d.confidence >= 0.8 ? 'ready' : 'rework'), {
        ready: agentStage('polish', 'editor'),
        rework: agentStage('rewrite', 'senior-writer'),
      }),
      approval('sign-off', { prompt: 'Publish this brief?', schema: z.object({ text: z.string() }) }),
      agentStage('publish', 'publisher'),
    ],
  });
  const agents = [
    defineAgent({ id: 'planner', invoke: () => ['runtimes', 'tooling', 'adoption'] }),
    defineAgent({ id: 'researcher', invoke: (topic: string) => `notes on ${topic}` }),
    defineAgent({ id: 'writer', invoke: (notes: string[]) => ({ text: notes.join('; '), confidence: 0.9 }) }),
    defineAgent({ id: 'editor', invoke: (d: { text: string }) => `${d.text}.` }),
    defineAgent({ id: 'senior-writer', invoke: () => 'rewritten' }),
    defineAgent({ id: 'publisher', invoke: (d: { text: string }) => `published: ${d.text}` }),
  ];

  it('suspends for the sign-off with the polished draft, then publishes what the person approved', async () => {
    const orchestrator = new MacroOrchestrator({ agents, macros: [brief] });
    const first = await orchestrator.run('brief', { intent: 'State of WASM runtimes' });
    expect(first.status === 'suspended' && first.suspension.payload).toEqual({
      prompt: 'Publish this brief?',
      input: 'notes on runtimes; notes on tooling; notes on adoption.',
    });
    expect(first.stages['brief/check']?.case).toBe('ready');
    const done = await orchestrator.resume(first.runId, { input: { text: 'edited brief' } });
    expect(done.status === 'succeeded' && done.output).toBe('published: edited brief');
  });
});
