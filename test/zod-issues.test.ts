import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIssues, issuePath } from '../src/internal/zod-issues.js';

const issuesOf = (schema: z.ZodType, value: unknown) => {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a failed parse');
  return parsed.error.issues;
};

const schema = z.object({ list: z.array(z.object({ name: z.string() })), n: z.number() });
const issues = issuesOf(schema, { list: [{ name: 1 }], n: 'x' });

describe('issuePath', () => {
  it('writes numeric keys in brackets after a prefix', () => {
    expect(issuePath(['stages', 0, 'agent'], 'brackets', 'macros[1]')).toBe('macros[1].stages[0].agent');
  });

  it('writes a leading name without a dot when there is no prefix', () => {
    expect(issuePath(['checkpoints', 2, 'seq'], 'brackets')).toBe('checkpoints[2].seq');
  });

  it('joins every key with dots in dots style', () => {
    expect(issuePath(['list', 0, 'name'], 'dots')).toBe('list.0.name');
  });
});

describe('formatIssues', () => {
  it('writes `message at path` and joins the issues with semicolons', () => {
    expect(formatIssues(issues, { keys: 'dots', place: 'after' })).toBe(
      `${issues[0]?.message} at list.0.name; ${issues[1]?.message} at n`,
    );
  });

  it('writes `path: message`, naming the root when the path is empty', () => {
    const root = issuesOf(z.number(), 'x');
    expect(formatIssues(root, { keys: 'dots', place: 'before', root: '(root)' })).toBe(
      `(root): ${root[0]?.message}`,
    );
  });

  it('writes a root issue without a location when there is neither root nor prefix', () => {
    const root = issuesOf(z.number(), 'x');
    expect(formatIssues(root, { keys: 'dots', place: 'after' })).toBe(root[0]?.message);
  });

  it('puts a root issue at the prefix when there is one', () => {
    const root = issuesOf(z.number(), 'x');
    expect(formatIssues(root, { keys: 'brackets', place: 'after', prefix: 'context' })).toBe(
      `${root[0]?.message} at context`,
    );
  });

  it('keeps at most `limit` issues', () => {
    expect(formatIssues(issues, { keys: 'brackets', place: 'after', limit: 1 })).toBe(
      `${issues[0]?.message} at list[0].name`,
    );
  });

  it('appends the note to each message', () => {
    expect(formatIssues(issues, { keys: 'dots', place: 'none', note: (i) => ` (${i.code})` })).toBe(
      `${issues[0]?.message} (invalid_type); ${issues[1]?.message} (invalid_type)`,
    );
  });
});
