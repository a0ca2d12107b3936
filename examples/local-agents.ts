/**
 * Deterministic local agents for every built-in macro: no network, no model, the same
 * output for the same input. They stand in for real LLM agents in the demo and tests.
 */
import {
  type Agent,
  type Document,
  defineAgent,
  type HarmonyJudgeInput,
  type ReleaseNotes,
  type Review,
  type Triage,
} from '../src/index.js';

const words = (text: string) => text.split(/\s+/).filter(Boolean);

/** Resolves after `ms`, or rejects when `signal` aborts: agents honour their signal. */
function think(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export function localAgents(options: { latencyMs?: number } = {}): Agent[] {
  const latency = options.latencyMs ?? 0;
  const researcher = defineAgent({
    id: 'researcher',
    description: 'Collects notes and sources on a topic from the knowledge packets.',
    async invoke(topic: string, { context, signal, report }) {
      await think(latency, signal);
      const packets = context.knowledge;
      report({ packets: packets.length });
      return {
        topic,
        notes:
          packets.length > 0
            ? packets.map((p) => `${p.title ?? p.id}: ${p.content}`)
            : [`No packets; reasoning from "${topic}".`],
        sources: packets.map((p) => p.source ?? p.id),
      };
    },
  });
  const writer = defineAgent({
    id: 'writer',
    description: 'Drafts a document from research notes; forgets sources on the first try.',
    async invoke(
      notes: { topic: string; notes: string[]; sources: string[] },
      { feedback, signal },
    ): Promise<Document> {
      await think(latency, signal);
      const cite = feedback.some((v) => v.gate === 'cites-sources');
      return {
        title: notes.topic.slice(0, 60),
        body: notes.notes.map((n) => `- ${n}`).join('\n'),
        sources: cite ? (notes.sources.length > 0 ? notes.sources : ['operator intent']) : [],
      };
    },
  });
  const seniorWriter = defineAgent({
    id: 'senior-writer',
    description: 'A stronger writer used when refinement does not pass the gates.',
    async invoke(notes: { topic: string; notes: string[]; sources: string[] }): Promise<Document> {
      return {
        title: notes.topic,
        body: notes.notes.join('\n\n').slice(0, 3900),
        sources: ['senior review'],
      };
    },
  });
  const reviewer = defineAgent({
    id: 'reviewer',
    description: 'Polishes a draft and appends a references section.',
    async invoke(doc: Document, { signal }): Promise<Document> {
      await think(latency, signal);
      const refs = doc.sources.map((s, i) => `${i + 1}. ${s}`).join('\n');
      return { ...doc, body: `${doc.body}\n\n## References\n${refs}` };
    },
  });
  const makeReviewer = (
    id: string,
    focus: string,
    pattern: RegExp,
    severity: Review['findings'][number]['severity'],
  ) =>
    defineAgent({
      id,
      description: `Reviews a change for ${focus}.`,
      async invoke(change: string, { signal }): Promise<Review> {
        await think(latency, signal);
        const hits = words(change).filter((w) => pattern.test(w));
        return {
          reviewer: id,
          verdict: hits.length > 0 && severity !== 'info' ? 'request-changes' : 'approve',
          findings: hits.map((w) => ({ severity, message: `${focus}: look at "${w}"` })),
        };
      },
    });
  const synthesizer = defineAgent({
    id: 'review-synthesizer',
    description: 'Consolidates parallel reviews into one verdict.',
    async invoke(reviews: Review[]) {
      const blocking = reviews.filter((r) => r.verdict === 'request-changes');
      return {
        verdict: blocking.length > 0 ? ('request-changes' as const) : ('approve' as const),
        summary: `${reviews.length} reviews, ${blocking.length} requesting changes, ${reviews.reduce((n, r) => n + r.findings.length, 0)} findings.`,
        reviews,
      };
    },
  });
  const collector = defineAgent({
    id: 'changelog-collector',
    description: 'Reads merged changes from the run metadata (or the intent).',
    async invoke(intent: string, { context }) {
      const changes = context.metadata['changes'];
      return Array.isArray(changes)
        ? changes.map(String)
        : intent
            .split(';')
            .map((s) => s.trim())
            .filter(Boolean);
    },
  });
  const group = (changes: string[]) => {
    const sections: Record<string, string[]> = {};
    for (const change of changes) {
      const kind = /^feat/i.test(change) ? 'Features' : /^fix/i.test(change) ? 'Fixes' : 'Other';
      const items = sections[kind] ?? [];
      items.push(change.replace(/^\w+:\s*/, ''));
      sections[kind] = items;
    }
    return sections;
  };
  const render = (version: string, sections: Record<string, string[]>) =>
    [
      `# Release ${version}`,
      ...Object.entries(sections).map(([k, v]) => `\n## ${k}\n${v.map((i) => `- ${i}`).join('\n')}`),
    ].join('\n');
  const releaseWriter = defineAgent({
    id: 'release-writer',
    description: 'Groups changes into release-note sections.',
    async invoke(changes: string[], { context }): Promise<ReleaseNotes> {
      const version = String(context.metadata['version'] ?? '0.0.0');
      const sections = group(changes);
      return { version, sections, markdown: render(version, sections) };
    },
  });
  const formatter = defineAgent({
    id: 'changelog-formatter',
    description: 'Formats release notes (or a plain list of changes) as markdown.',
    async invoke(input: ReleaseNotes | string[], { context }): Promise<ReleaseNotes> {
      if (Array.isArray(input)) {
        const version = String(context.metadata['version'] ?? '0.0.0');
        const sections = { Changes: input };
        return { version, sections, markdown: render(version, sections) };
      }
      return input;
    },
  });
  const severityOf = (text: string, sev1: RegExp, sev2: RegExp): Triage['severity'] =>
    sev1.test(text) ? 'sev1' : sev2.test(text) ? 'sev2' : 'sev3';
  const classifier = (id: string, how: string, sev1: RegExp, sev2: RegExp) =>
    defineAgent({
      id,
      description: `Rates an incident's severity ${how}.`,
      async invoke(incident: string, { signal }): Promise<Triage> {
        await think(latency, signal);
        const severity = severityOf(incident, sev1, sev2);
        return { severity, reason: `${how}: ${severity}` };
      },
    });
  const triageJudge = defineAgent({
    id: 'triage-judge',
    description: 'Picks the most severe call that at least one classifier backs with a concrete signal.',
    async invoke({ variants }: HarmonyJudgeInput) {
      const rank = (v: (typeof variants)[number]) =>
        ['sev1', 'sev2', 'sev3'].indexOf((v.output as Triage).severity);
      const winner = [...variants].sort((a, b) => rank(a) - rank(b) || a.index - b.index)[0]?.index ?? 0;
      return {
        winner,
        rationale: 'Err on the side of the more severe call when classifiers disagree.',
        scores: variants.map((v) => 1 - rank(v) / 3),
      };
    },
  });
  const triageWriter = defineAgent({
    id: 'triage-writer',
    description: 'Writes the operator note for the chosen severity.',
    async invoke(call: Triage, { context }) {
      return `# ${call.severity.toUpperCase()}: ${context.intent}\n\n${call.reason}\n`;
    },
  });
  return [
    classifier('rules-classifier', 'by rules', /\b(outage|down|data loss)\b/i, /\b(5xx|errors?|degraded)\b/i),
    classifier('keyword-classifier', 'by keywords', /\b(all users|outage)\b/i, /\b(spike|latency|5xx)\b/i),
    classifier('history-classifier', 'by past incidents', /\b(data loss)\b/i, /\b(5xx|timeout)\b/i),
    triageJudge,
    triageWriter,
    researcher,
    writer,
    seniorWriter,
    reviewer,
    makeReviewer('style-reviewer', 'style', /^(var|==)$/, 'minor'),
    makeReviewer('security-reviewer', 'security', /^(eval|innerHTML|exec)\b/, 'critical'),
    makeReviewer('performance-reviewer', 'performance', /^(sync|sleep|forEach)\b/i, 'info'),
    synthesizer,
    collector,
    releaseWriter,
    formatter,
  ];
}
