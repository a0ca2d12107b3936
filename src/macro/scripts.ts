/**
 * The built-in macro catalogue. Add a macro by appending a `defineMacro(...)` to
 * `builtinMacros`, or pass your own catalogue to `MacroOrchestrator({ macros })`.
 * @module
 */
import { z } from 'zod';
import { predicateGate, schemaGate } from '../protocol/quality-gates.js';
import { agentStage, defineMacro, parallel, retryableStage, sequence } from './helpers.js';

/** A written document, as the writing macros' writers produce it (checked in Draft). */
export const DocumentSchema = z.object({
  title: z.string().min(1),
  body: z.string().min(1),
  sources: z.array(z.string()).default([]),
});
/** A written document: `title`, `body`, `sources`. */
export type Document = z.infer<typeof DocumentSchema>;

/** One reviewer's findings, as `code-review`'s reviewers return them. */
export const ReviewSchema = z.object({
  reviewer: z.string(),
  verdict: z.enum(['approve', 'request-changes']),
  findings: z.array(
    z.object({ severity: z.enum(['info', 'minor', 'major', 'critical']), message: z.string() }),
  ),
});
/** One reviewer's verdict and findings. */
export type Review = z.infer<typeof ReviewSchema>;

/** A consolidated code review, as `code-review`'s synthesizer returns it. */
export const ConsolidatedReviewSchema = z.object({
  verdict: z.enum(['approve', 'request-changes']),
  summary: z.string(),
  reviews: z.array(ReviewSchema),
});
/** The verdict, a summary and every review. */
export type ConsolidatedReview = z.infer<typeof ConsolidatedReviewSchema>;

/** Release notes, grouped by kind of change, as the release macros' writers return them. */
export const ReleaseNotesSchema = z.object({
  version: z.string(),
  markdown: z.string().min(1),
  sections: z.record(z.string(), z.array(z.string())),
});
/** A version's notes as markdown, and its changes by section. */
export type ReleaseNotes = z.infer<typeof ReleaseNotesSchema>;

const ResearchNotesSchema = z.object({
  topic: z.string(),
  notes: z.array(z.string()).min(1),
  sources: z.array(z.string()),
});

/**
 * research → draft → review. The draft must cite a source and stay within 4,000
 * characters; failing drafts are refined twice, then elevated to `senior-writer`.
 */
export const researchDraftReview = defineMacro({
  name: 'research-draft-review',
  description: 'Research a topic, draft a document from the notes, and have it reviewed and finalised.',
  labels: { family: 'writing' },
  defaults: { retry: { retries: 2, minDelayMs: 250 }, timeoutMs: 120_000 },
  stages: [
    agentStage('research', 'researcher', { output: ResearchNotesSchema }),
    agentStage('draft', 'writer', {
      output: DocumentSchema,
      gates: [
        predicateGate(
          'cites-sources',
          (doc: Document) => doc.sources.length > 0,
          'Cite at least one source.',
        ),
        predicateGate(
          'fits-length',
          (doc: Document) => doc.body.length <= 4000,
          'Keep the body under 4,000 characters.',
        ),
      ],
      maxRefinements: 2,
      elevateTo: 'senior-writer',
    }),
    agentStage('review', 'reviewer', {
      output: DocumentSchema,
      deliver: (doc) => [
        { name: `${doc.title}.md`, mediaType: 'text/markdown', content: `# ${doc.title}\n\n${doc.body}\n` },
      ],
    }),
  ],
});

/**
 * Three reviewers read the same change in parallel (each retried on transient
 * failure, all allowed to finish); a synthesiser consolidates their reviews.
 */
export const codeReview = defineMacro({
  name: 'code-review',
  description: 'Parallel style, security and performance review of a change, consolidated into one verdict.',
  labels: { family: 'engineering' },
  defaults: { timeoutMs: 120_000 },
  stages: [
    parallel(
      'reviews',
      [
        retryableStage(agentStage('style', 'style-reviewer', { output: ReviewSchema }), { retries: 2 }),
        retryableStage(agentStage('security', 'security-reviewer', { output: ReviewSchema }), { retries: 2 }),
        retryableStage(agentStage('performance', 'performance-reviewer', { output: ReviewSchema }), {
          retries: 2,
        }),
      ],
      { failure: 'settle' },
    ),
    agentStage('consolidate', 'review-synthesizer', {
      output: ConsolidatedReviewSchema,
      gates: [schemaGate('has-summary', z.object({ summary: z.string().min(10) }))],
    }),
  ],
});

/**
 * Collects the changes (retried), writes grouped release notes and delivers them as a
 * markdown artefact. Falls back to `release-notes-minimal` when it fails.
 */
export const releaseNotes = defineMacro({
  name: 'release-notes',
  description: 'Collect merged changes and write grouped, reviewed release notes.',
  labels: { family: 'release' },
  fallback: 'release-notes-minimal',
  defaults: { timeoutMs: 60_000 },
  stages: [
    retryableStage(agentStage('collect', 'changelog-collector'), { retries: 3, minDelayMs: 500 }),
    sequence('write', [
      agentStage('draft', 'release-writer', {
        output: ReleaseNotesSchema,
        gates: [
          predicateGate(
            'no-empty-sections',
            (notes: ReleaseNotes) => Object.values(notes.sections).every((items) => items.length > 0),
            'Remove empty sections.',
          ),
        ],
      }),
      agentStage('publish', 'changelog-formatter', {
        output: ReleaseNotesSchema,
        deliver: (notes) => [
          { name: `RELEASE-${notes.version}.md`, mediaType: 'text/markdown', content: notes.markdown },
        ],
      }),
    ]),
  ],
});

/** The fallback of `release-notes`: a plain list of changes, formatted without a writer. */
export const releaseNotesMinimal = defineMacro({
  name: 'release-notes-minimal',
  description: 'Plain release notes: the collected changes as a flat list.',
  labels: { family: 'release' },
  stages: [
    agentStage('collect', 'changelog-collector'),
    agentStage('format', 'changelog-formatter', {
      output: ReleaseNotesSchema,
      deliver: (notes) => [
        { name: `RELEASE-${notes.version}.md`, mediaType: 'text/markdown', content: notes.markdown },
      ],
    }),
  ],
});

/** A severity call on an incident, as `incident-triage`'s judges return it. */
export const TriageSchema = z.object({
  severity: z.enum(['sev1', 'sev2', 'sev3']),
  reason: z.string().min(1),
});
/** A severity and the reason for it. */
export type Triage = z.infer<typeof TriageSchema>;

/**
 * Three independent classifiers rate an incident in parallel; when they disagree on the
 * severity, the `triage-judge` decides (majority vote if the judge fails), and at least
 * two must answer. The decision is audited and footnoted in the report; a writer then
 * turns the chosen call into an operator note.
 */
export const incidentTriage = defineMacro({
  name: 'incident-triage',
  description:
    'Rate an incident with three classifiers, reconcile them with the Harmony Protocol, write the note.',
  labels: { family: 'operations' },
  defaults: { retry: { retries: 1, minDelayMs: 200 }, timeoutMs: 30_000 },
  stages: [
    parallel(
      'classify',
      [
        agentStage('by-rules', 'rules-classifier', { output: TriageSchema }),
        agentStage('by-keywords', 'keyword-classifier', { output: TriageSchema }),
        agentStage('by-history', 'history-classifier', { output: TriageSchema }),
      ],
      {
        failure: 'settle',
        minSuccesses: 2,
        harmony: { strategy: 'judge', judge: 'triage-judge', compare: { fields: ['severity'] } },
      },
    ),
    agentStage('note', 'triage-writer', {
      deliver: (note: string) => [{ name: 'triage-note.md', mediaType: 'text/markdown', content: note }],
    }),
  ],
});

/** Every built-in macro. */
export const builtinMacros = [
  researchDraftReview,
  codeReview,
  releaseNotes,
  releaseNotesMinimal,
  incidentTriage,
] as const;
/** A name of a built-in macro. */
export type BuiltinMacroName = (typeof builtinMacros)[number]['name'];
