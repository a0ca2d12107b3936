import { describe, expect, it } from 'vitest';
import { localAgents } from '../examples/local-agents.js';
import {
  type BuiltinMacroName,
  builtinMacros,
  type MacroContextInput,
  MacroOrchestrator,
} from '../src/index.js';

const contexts: Record<BuiltinMacroName, MacroContextInput> = {
  'research-draft-review': {
    intent: 'WAL mode',
    knowledge: [{ id: 'wal', content: 'Readers keep reading.' }],
  },
  'code-review': { intent: 'if (a == b) eval(x)' },
  'release-notes': { intent: 'feat: a; fix: b', metadata: { version: '1.0.0' } },
  'release-notes-minimal': { intent: 'feat: a; fix: b' },
  'incident-triage': { intent: 'Checkout 5xx spike, all users see errors' },
};

describe('built-in catalogue', () => {
  it.each(builtinMacros.map((m) => m.name))(
    'runs %s end to end on the local agents and stores it',
    async (name) => {
      const orchestrator = new MacroOrchestrator({ agents: localAgents() });
      const result = await orchestrator.run(name, contexts[name]);
      expect(result.status).toBe('succeeded');
      expect(await orchestrator.loadResult(result.runId)).toEqual(JSON.parse(JSON.stringify(result)));
    },
  );

  it('decides the incident-triage disagreement with the judge and audits it', async () => {
    const orchestrator = new MacroOrchestrator({ agents: localAgents() });
    const result = await orchestrator.run('incident-triage', contexts['incident-triage']);
    expect(result.status === 'succeeded' && result.output).toContain('SEV1');
    expect(result.decisions.map((d) => d.strategy)).toEqual(['judge']);
    const audit = await orchestrator.memory.readAudit(result.runId);
    expect(audit.filter((r) => r.kind === 'decision')).toHaveLength(1);
  });
});
