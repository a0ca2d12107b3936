/**
 * The leases of {@link SqliteMemory}: the fencing check its writes make, and the claims,
 * renewals and releases, each one transaction. Processes sharing a file share one
 * machine, so expiries are epoch ms on its clock, and a claim also takes over the lease
 * of a process on this host that is gone (SIGKILL leaves a live lease behind; the next
 * process need not wait for it to expire).
 * @internal
 * @module
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import type { ClaimStaleFilter } from './call-arguments.js';
import { leaseLost, runLeased } from './lease.js';
import type { RunState, RunSummary } from './memory-adapter.js';
import { toSummary } from './summary-row.js';

/** Who this adapter is, and what it holds. */
export interface LeaseHolder {
  readonly owner: string;
  readonly leaseMs: number;
  readonly pid: number;
  readonly host: string;
  /** The token this adapter last held for a run, or `null`. */
  token(runId: string): number | null;
  /** Whether this adapter holds (and renews) the run's lease now. */
  holds(runId: string): boolean;
}

/**
 * Where process ids mean the same process: the host, and on Linux its boot and pid
 * namespace too (two containers sharing a hostname and a volume do not share pids). Where
 * these cannot be read, the hostname alone.
 */
export function processSpace(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${hostname()}/${boot}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return hostname();
  }
}

interface LeaseRow {
  /** The run's row id: its checkpoints are stored under it. */
  id: number;
  begun: 0 | 1;
  status: RunState;
  lease_owner: string | null;
  lease_pid: number | null;
  lease_host: string | null;
  lease_token: number;
  lease_expires_at: number | null;
}

interface StaleRow extends LeaseRow {
  run_id: string;
  macro: string;
  produced_by: string;
  started_at: number;
  updated_at: number;
}

/** Whether process `pid` of this host is alive (EPERM: alive, not ours to signal). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lease operations of one connection; each write is one transaction. */
export interface SqliteLeases {
  /**
   * Throws unless this adapter may write run `runId` (call it inside the write's
   * transaction): the stored token must be the one it last held (0, for a run nobody ever
   * leased). `beginRun` by an adapter that never held the run is refused with `RUN_LEASED`.
   * @returns the run's lease row, `undefined` for a run never stored.
   */
  fence(runId: string, operation: string): LeaseRow | undefined;
  /** The token a write of run `runId` must find stored (0 for a run this adapter never held): a fenced statement's check. */
  expected(runId: string): number;
  /** The lease columns of a run this adapter begins but its token: owner, pid, host, expiry. */
  holder(now: number): readonly [string, number, string, number];
  /** The lease columns of a run this adapter begins (owner, pid, host, next token, expiry). */
  begun(row: LeaseRow | undefined, now: number): readonly [string, number, string, number, number];
  /** The new token, or `null` for a run with nothing to hold (unknown, finished, never begun). */
  claimRun(runId: string, now: number): number | null;
  claimStale(options: ClaimStaleFilter, now: number): { summary: RunSummary; token: number }[];
  /** The runs whose leases were renewed. */
  renew(held: ReadonlyMap<string, number>, now: number): string[];
  release(held: ReadonlyMap<string, number>): void;
}

/** Takes the next fencing token. */
export const NEXT_TOKEN_SQL = 'UPDATE lease_tokens SET last = last + 1 RETURNING last';

/** The lease statements on `db` (migrated already), and the fencing check. */
export function sqliteLeases(db: Database.Database, me: LeaseHolder): SqliteLeases {
  const row = db.prepare<[string], LeaseRow>(
    `SELECT id, header IS NOT NULL AS begun, status, lease_owner, lease_pid, lease_host, lease_token,
       lease_expires_at FROM runs WHERE run_id = ?`,
  );
  const nextToken = db.prepare<[], number>(NEXT_TOKEN_SQL).pluck();
  const take = db.prepare<[string, number, string, number, number, string]>(
    `UPDATE runs SET lease_owner = ?, lease_pid = ?, lease_host = ?, lease_token = ?,
       lease_expires_at = ? WHERE run_id = ?`,
  );
  const stale = db.prepare<[string, number], StaleRow>(
    `SELECT * FROM (
       SELECT run_id, macro, produced_by, status, started_at, 1 AS begun, lease_owner, lease_pid,
         lease_host, lease_token, lease_expires_at, id,
         coalesce((SELECT at FROM checkpoints c WHERE c.run_no = runs.id ORDER BY c.id DESC LIMIT 1),
           updated_at) AS updated_at
       FROM runs
       WHERE status = 'running' AND header IS NOT NULL AND macro IN (SELECT value FROM json_each(?)))
     WHERE updated_at <= ? ORDER BY id`,
  );
  const renewOne = db.prepare<[number, string, number, string]>(
    'UPDATE runs SET lease_expires_at = ? WHERE run_id = ? AND lease_token = ? AND lease_owner = ?',
  );
  const releaseOne = db.prepare<[string, number]>(
    `UPDATE runs SET lease_owner = NULL, lease_pid = NULL, lease_host = NULL, lease_expires_at = NULL
     WHERE run_id = ? AND lease_token = ?`,
  );

  /** Whether this adapter may take the lease `r` describes now. */
  const claimable = (r: LeaseRow, runId: string, now: number) =>
    r.lease_owner === null ||
    (r.lease_expires_at ?? 0) < now ||
    r.lease_token === me.token(runId) ||
    (r.lease_host === me.host && r.lease_pid !== null && r.lease_pid !== me.pid && !alive(r.lease_pid));

  /** Takes the lease of `runId` (inside a write transaction); returns the new token. */
  const takeLease = (runId: string, now: number) => {
    const token = nextToken.get() as number;
    take.run(me.owner, me.pid, me.host, token, now + me.leaseMs, runId);
    return token;
  };

  return {
    fence(runId: string, operation: string): LeaseRow | undefined {
      const r = row.get(runId);
      const held = me.token(runId);
      if (r === undefined || r.lease_token === (held ?? 0)) return r;
      if (operation === 'beginRun' && held === null) {
        throw runLeased(runId, r.lease_owner, r.lease_expires_at);
      }
      throw leaseLost(runId, operation, me.owner);
    },
    expected: (runId: string) => me.token(runId) ?? 0,
    holder: (now: number) => [me.owner, me.pid, me.host, now + me.leaseMs] as const,
    begun(_: LeaseRow | undefined, now: number) {
      return [me.owner, me.pid, me.host, nextToken.get() as number, now + me.leaseMs] as const;
    },
    claimRun: db.transaction((runId: string, now: number): number | null => {
      const r = row.get(runId);
      if (r === undefined || r.begun === 0 || (r.status !== 'running' && r.status !== 'suspended'))
        return null;
      if (!claimable(r, runId, now)) throw runLeased(runId, r.lease_owner, r.lease_expires_at);
      return takeLease(runId, now);
    }).immediate,
    claimStale: db.transaction((options: ClaimStaleFilter, now: number) => {
      const claimed: { summary: RunSummary; token: number }[] = [];
      const before = options.updatedBefore ?? Number.MAX_VALUE;
      for (const r of stale.all(JSON.stringify(options.macros), before)) {
        if (claimed.length >= options.limit) break;
        // A run this adapter runs now is not stale, whatever its expiry.
        if (me.holds(r.run_id) || !claimable(r, r.run_id, now)) continue;
        const summary = toSummary({ ...r, ended_at: null }); // a running run has no end
        claimed.push({ summary, token: takeLease(r.run_id, now) });
      }
      return claimed;
    }).immediate,
    renew: db.transaction((held: ReadonlyMap<string, number>, now: number) => {
      const kept: string[] = [];
      for (const [runId, token] of held) {
        if (renewOne.run(now + me.leaseMs, runId, token, me.owner).changes > 0) kept.push(runId);
      }
      return kept;
    }),
    release: db.transaction((held: ReadonlyMap<string, number>) => {
      for (const [runId, token] of held) releaseOne.run(runId, token);
    }),
  };
}
