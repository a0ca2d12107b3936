import { describe, expect, it } from 'vitest';
import { localAgents } from '../examples/local-agents.js';
import { MacroOrchestrator } from '../src/index.js';

describe('built-in catalogue', () => {
  it('runs research-draft-review end to end on the local agents', async () => {
    const orchestrator = new MacroOrchestrator({ agents: localAgents() });
    const result = await orchestrator.run('research-draft-review', { intent: 'WAL mode' });
    expect(result.status).toBe('succeeded');
    expect(await orchestrator.loadResult(result.runId)).toEqual(JSON.parse(JSON.stringify(result)));
  });
});
