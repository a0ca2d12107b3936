/**
 * `PostgresMemory`: the {@link MemoryAdapter} for runs shared by many processes and
 * machines, on node-postgres. Import it from `macro-orchestrator/postgres`, so that `pg`
 * (an optional peer dependency) is loaded only by those who use it.
 * @module
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { MacroError } from '../errors.js';
import type { MacroResult } from '../model/result.js';
import { claimStaleOptions, endedBefore, listRunsOptions, runIdOf } from './call-arguments.js';
import { InFlight } from './in-flight.js';
import { type ClaimStaleOptions, HeldLeases, leaseLost, runLeased } from './lease.js';
import type {
  AuditRecord,
  Checkpoint,
  ListRunsOptions,
  MemoryAdapter,
  RunHeader,
  RunState,
  RunSummary,
  StoredRun,
} from './memory-adapter.js';
import { postgresFailure } from './postgres-failure.js';
import { type PostgresMemoryOptions, type PostgresPool, parseOptions } from './postgres-options.js';
import { type AuditRow, auditColumns, auditRecord, type StoredRunRow, storedRun } from './postgres-rows.js';
import { migrate } from './postgres-schema.js';
import { type PostgresStatements, postgresStatements } from './postgres-statements.js';
import { checkpointJson, parseResult, resultJson } from './stored-json.js';
import { type SummaryRow, toSummary } from './summary-row.js';
import {
  accepted,
  checkedHeader,
  checkedResult,
  invalidAudit,
  invalidCheckpoint,
  neverBegun,
  refuse,
} from './write-arguments.js';

/**
 * A {@link MemoryAdapter} on PostgreSQL: durable state that every process of a fleet
 * shares, with **leases** so that one process at a time runs a run.
 *
 * - Each write is one statement, so it is atomic and costs one round trip; the schema is
 *   versioned and migrated on first use (under an advisory lock).
 * - The adapter holds the lease of every run it begins or claims (`resume()` claims; so
 *   does `resumeIncomplete()`, atomically, with `FOR UPDATE SKIP LOCKED`). A lease has an
 *   owner, an expiry on the database's clock, renewed every third of `leaseMs` while the
 *   run works, and a fencing token checked by every write: once another process has
 *   claimed a run whose lease lapsed, this one's writes for it are refused with
 *   `LEASE_LOST` and store nothing, and the engine stops the run. Saving the result gives
 *   the lease back.
 * - Driver errors reject as `PERSISTENCE_FAILED`, naming the operation, with the
 *   driver's error as `cause`.
 * @example
 * import { PostgresMemory } from 'macro-orchestrator/postgres';
 * const memory = new PostgresMemory({ connectionString: process.env.DATABASE_URL });
 * const orchestrator = new MacroOrchestrator({ agents, memory });
 * await orchestrator.resumeIncomplete(); // runs whose process died, claimed once fleet-wide
 */
export class PostgresMemory implements MemoryAdapter {
  /** The pool the adapter queries: yours, or its own (see {@link PostgresMemoryOptions}). */
  readonly pool: PostgresPool;
  /** Who holds the leases this adapter takes. */
  readonly owner: string;
  readonly #ownsPool: boolean;
  readonly #leaseMs: number;
  readonly #sql: PostgresStatements;
  readonly #schema: string;
  readonly #leases: HeldLeases;
  /** The statement names, by SQL text, while statements are prepared (see `prepare`). */
  #names: Map<string, string> | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  /** The first close(), which every later one waits for. */
  #closing: Promise<void> | undefined;
  /** Queries of calls made before close(), which close() lets finish. */
  readonly #inFlight = new InFlight();

  /**
   * Checks the options; connects and migrates on first use (or {@link ready}).
   * @throws {MacroError} `INVALID_OPTIONS` for an unknown option or an invalid value.
   */
  constructor(options?: PostgresMemoryOptions) {
    const settings = parseOptions(options);
    this.#ownsPool = settings.pool === undefined;
    if (settings.pool === undefined) {
      const pool = new pg.Pool(
        settings.connectionString === undefined ? {} : { connectionString: settings.connectionString },
      );
      // An idle client whose connection died (a restart, a failover, an idle timeout) is
      // reported here, and would crash the process unheard: the pool drops it, and the
      // next query takes a new connection.
      pool.on('error', () => {});
      this.pool = pool as PostgresPool;
    } else this.pool = settings.pool;
    this.owner = settings.owner;
    this.#leaseMs = settings.leaseMs;
    this.#schema = settings.schema;
    this.#sql = postgresStatements(settings.schema);
    this.#names = settings.prepare ? new Map() : undefined;
    this.#leases = new HeldLeases(settings.leaseMs, (held) => this.#renew(held));
  }

  /** Connects and brings the schema up to date, once; every method waits for it. */
  ready(): Promise<void> {
    this.#ready ??= migrate(this.pool, this.#schema).catch((error: unknown) => {
      this.#ready = undefined; // the next call tries again
      throw postgresFailure(this.#schema, 'migrate', error);
    });
    return this.#ready;
  }

  async beginRun(given: RunHeader): Promise<void> {
    const header = accepted(checkedHeader('PostgresMemory', given));
    const header_ = JSON.stringify(header);
    const { rows } = await this.#query(
      'beginRun',
      this.#sql.beginRun,
      [
        header.runId,
        header.macro,
        header.startedAt,
        header_,
        this.owner,
        this.#leaseMs,
        this.#leases.token(header.runId),
      ],
      header.runId,
    );
    const row = rows[0] as { token: number } | undefined;
    if (row === undefined) throw await this.#refusal(header.runId, 'beginRun');
    this.#leases.hold(header.runId, row.token);
  }

  async saveCheckpoint(runId: string, checkpoint: Checkpoint, audit: readonly AuditRecord[]): Promise<void> {
    refuse(invalidCheckpoint('PostgresMemory', runId, checkpoint, audit));
    const data = checkpointJson(checkpoint);
    const columns = auditColumns(audit);
    const { rows } = await this.#query(
      'saveCheckpoint',
      this.#sql.saveCheckpoint,
      [
        ...columns,
        runId,
        checkpoint.seq,
        checkpoint.at,
        data,
        this.#leases.token(runId),
        this.#leaseMs,
        this.#leases.holds(runId),
      ],
      runId,
    );
    if ((rows[0] as { n: number }).n === 0) throw await this.#refusal(runId, 'saveCheckpoint');
  }

  async saveResult(given: MacroResult): Promise<void> {
    const result = accepted(checkedResult('PostgresMemory', given));
    const data = resultJson(result);
    const { runId } = result;
    const { rows } = await this.#query(
      'saveResult',
      this.#sql.saveResult,
      [
        runId,
        result.macro,
        result.producedBy,
        result.status,
        result.startedAt,
        result.endedAt,
        data,
        result.status === 'suspended',
        this.#leases.token(runId),
      ],
      runId,
    );
    if ((rows[0] as { n: number }).n === 0) throw await this.#refusal(runId, 'saveResult');
    this.#leases.release(runId);
  }

  async appendAudit(records: readonly AuditRecord[]): Promise<void> {
    refuse(invalidAudit('PostgresMemory.appendAudit', records));
    if (records.length === 0) return;
    const tokens = records.map((r) => this.#leases.token(r.runId));
    const { rowCount } = await this.#query(
      'appendAudit',
      this.#sql.appendAudit,
      [...auditColumns(records), tokens],
      (records[0] as AuditRecord).runId,
    );
    if (rowCount !== records.length)
      throw await this.#refusal((records[0] as AuditRecord).runId, 'appendAudit');
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    const id = runIdOf('PostgresMemory', 'loadRun', runId);
    const { rows } = await this.#query('loadRun', this.#sql.loadRun, [id]);
    return storedRun(rows[0] as StoredRunRow | undefined);
  }

  async loadResult(runId: string): Promise<MacroResult | undefined> {
    const id = runIdOf('PostgresMemory', 'loadResult', runId);
    const { rows } = await this.#query('loadResult', this.#sql.loadResult, [id]);
    const json = (rows[0] as { result: string | null } | undefined)?.result;
    return json === undefined || json === null ? undefined : parseResult(json);
  }

  async readAudit(runId: string): Promise<AuditRecord[]> {
    const id = runIdOf('PostgresMemory', 'readAudit', runId);
    const { rows } = await this.#query('readAudit', this.#sql.readAudit, [id]);
    return (rows as AuditRow[]).map(auditRecord);
  }

  /** @throws {MacroError} `INVALID_OPTIONS` for options `listRuns` cannot use (see {@link ListRunsOptions}). */
  async listRuns(options?: ListRunsOptions): Promise<RunSummary[]> {
    const { macro, status, limit } = listRunsOptions('PostgresMemory', options);
    const { rows } = await this.#query('listRuns', this.#sql.listRuns, [
      macro ?? null,
      status ?? null,
      limit,
    ]);
    return (rows as SummaryRow[]).map(toSummary);
  }

  async claimRun(runId: string): Promise<void> {
    runIdOf('PostgresMemory', 'claimRun', runId);
    const { rows } = await this.#query('claimRun', this.#sql.claimRun, [
      runId,
      this.owner,
      this.#leaseMs,
      this.#leases.token(runId),
    ]);
    const row = rows[0] as { token: number } | undefined;
    if (row !== undefined) return this.#leases.hold(runId, row.token);
    const lease = await this.#leaseOf(runId, 'claimRun');
    // Unknown, or finished: nothing to hold (resume reports or replays it).
    if (lease === undefined || (lease.status !== 'running' && lease.status !== 'suspended')) return;
    if (!lease.begun) return; // a result saved without a begun run: nothing to resume
    throw runLeased(runId, lease.lease_owner, lease.expires_at);
  }

  /** @throws {MacroError} `INVALID_OPTIONS` for options it cannot use, before any claim. */
  async claimStale(options: ClaimStaleOptions): Promise<RunSummary[]> {
    const { macros, updatedBefore, limit } = claimStaleOptions('PostgresMemory', options);
    const { rows } = await this.#query('claimStale', this.#sql.claimStale, [
      macros,
      updatedBefore ?? null,
      limit,
      this.owner,
      this.#leaseMs,
    ]);
    const claimed = (rows as (SummaryRow & { ord: number; token: number })[]).sort((a, b) => a.ord - b.ord);
    for (const row of claimed) this.#leases.hold(row.run_id, row.token);
    return claimed.map(toSummary);
  }

  /** Gives back the lease of `runId` if this adapter holds it (see {@link MemoryAdapter.releaseRun}). */
  async releaseRun(runId: string): Promise<void> {
    // Closing (or closed): close() gives back every lease still held, this one too.
    if (this.#closed) return;
    const token = this.#leases.holds(runId) ? this.#leases.token(runId) : null;
    if (token === null) return;
    this.#leases.release(runId);
    await this.#query('releaseRun', this.#sql.release, [[runId], [token]]);
  }

  /** Deletes a run with its checkpoints and audit trail; resolves to true when it existed. */
  async deleteRun(runId: string): Promise<boolean> {
    const id = runIdOf('PostgresMemory', 'deleteRun', runId);
    const { rowCount } = await this.#query('deleteRun', this.#sql.deleteRun, [id]);
    this.#leases.release(runId);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Retention: deletes every finished run that ended before `endedBefore` (epoch ms, finite), with its
   * checkpoints and audit trail, in one statement; `running` and `suspended` runs are kept. Resolves to the count.
   */
  async prune(options: { endedBefore: number }): Promise<number> {
    const { rows } = await this.#query('prune', this.#sql.prune, [endedBefore('PostgresMemory', options)]);
    return (rows[0] as { n: number }).n;
  }

  /** Renews every lease held now (the heartbeat does this every third of `leaseMs`). */
  renewLeases(): Promise<void> {
    return this.#leases.beat();
  }

  /**
   * Lets the calls made before it finish, stops the heartbeat and gives back the leases
   * still held, so that another process can take their runs over at once; then ends the
   * pool if the adapter made it. Calls made after it reject.
   */
  close(): Promise<void> {
    // A second close() waits for the first to finish.
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    // Calls made before close() finish first, and what they did with their rows (a lease
    // held) is done by the next turn: so the leases they took are given back too. The
    // heartbeat beats on meanwhile, or a slow call would let the held leases lapse.
    await this.#inFlight.drained();
    this.#leases.close();
    const held = this.#leases.snapshot();
    try {
      if (held.size > 0 && this.#ready !== undefined) {
        await this.#send(this.#sql.release, [[...held.keys()], [...held.values()]]);
      }
    } finally {
      for (const runId of held.keys()) this.#leases.release(runId);
      if (this.#ownsPool) await this.pool.end();
    }
  }

  async #renew(held: ReadonlyMap<string, number>): Promise<string[]> {
    const { rows } = await this.#send(this.#sql.renew, [
      [...held.keys()],
      [...held.values()],
      this.owner,
      this.#leaseMs,
    ]);
    return (rows as { run_id: string }[]).map((r) => r.run_id);
  }

  /**
   * Runs one statement; `runId`: the run a write is for. `inner`: a second statement of a
   * call already running, which close() lets finish like the first.
   */
  #query(operation: string, sql: string, values: unknown[], runId?: string, inner = false) {
    if (this.#closed && !inner) return Promise.reject(this.#afterClose(operation, runId));
    return this.#inFlight.track(this.#run(operation, sql, values));
  }

  async #run(operation: string, sql: string, values: unknown[]) {
    await this.ready();
    try {
      return await this.#send(sql, values);
    } catch (error) {
      throw postgresFailure(this.#schema, operation, error);
    }
  }

  /** Sends `sql`: as a named statement (planned once per connection) when prepared. */
  #send(sql: string, values: unknown[]) {
    const names = this.#names;
    if (names === undefined) return this.pool.query(sql, values);
    let name = names.get(sql);
    if (name === undefined) {
      // Named after the text, so adapters on one pool with one schema share the statement.
      name = `mo_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
      names.set(sql, name);
    }
    return this.pool.query({ name, text: sql, values }).catch((error: unknown) => {
      // "prepared statement does not exist" (SQLSTATE 26000): a pooler that does not carry
      // prepared statements across server connections. Nothing ran: sent again as text, as
      // is every statement from now on.
      if ((error as { code?: unknown } | null)?.code !== '26000') throw error;
      this.#names = undefined;
      return this.pool.query(sql, values);
    });
  }

  /**
   * What a call after close() rejects with: a write for a run whose lease this adapter had
   * gave it back on close (`LEASE_LOST`: the run stops); anything else is `PERSISTENCE_FAILED`.
   */
  #afterClose(operation: string, runId: string | undefined): MacroError {
    if (runId !== undefined && this.#leases.token(runId) !== null) {
      return leaseLost(runId, operation, this.owner);
    }
    return new MacroError(
      'PERSISTENCE_FAILED',
      `PostgresMemory ${operation} after close(): the adapter is closed`,
    );
  }

  /** Why a write was refused: a run never begun, or a lease another process holds. */
  async #refusal(runId: string, operation: string): Promise<Error> {
    const held = this.#leases.token(runId) !== null;
    const lease = await this.#leaseOf(runId, operation);
    if (operation === 'saveCheckpoint' && lease?.begun !== true) return neverBegun('PostgresMemory', runId);
    this.#leases.release(runId);
    if (operation === 'beginRun' && !held) {
      return runLeased(runId, lease?.lease_owner ?? null, lease?.expires_at ?? null);
    }
    return leaseLost(runId, operation, this.owner);
  }

  async #leaseOf(runId: string, operation: string) {
    const { rows } = await this.#query(operation, this.#sql.leaseOf, [runId], undefined, true);
    return rows[0] as
      | { begun: boolean; status: RunState; lease_owner: string | null; expires_at: number | null }
      | undefined;
  }
}
