/**
 * The SQL of {@link PostgresMemory}. Each write is one statement (data-modifying CTEs),
 * so it is atomic without a transaction of its own and costs one round trip; the lease's
 * fencing check is part of the same statement as the write it guards.
 * @internal
 * @module
 */

/**
 * The fencing check on a run row `r`, with the token last held as parameter `$t`: the
 * stored token must still be it (every claim since bumped it); with none held, no
 * process may ever have leased the run (token 0).
 */
const fence = (r: string, t: string) => `${r}.lease_token = coalesce(${t}::bigint, 0)`;

/** An expiry `$ms` milliseconds from the database's clock. */
const expiry = (ms: string) => `clock_timestamp() + ${ms}::double precision * interval '1 millisecond'`;

const AUDIT_ROWS = `unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::text[], $6::text[])
  WITH ORDINALITY AS a(run_id, seq, at, kind, path, data, n)`;

const SUMMARY = `run_id, macro, produced_by, status, started_at, ended_at, updated_at`;

/** Every statement, for the tables in schema `s` (quoted). */
export function postgresStatements(s: string) {
  const nextToken = `nextval('${s}.lease_tokens')`;
  return {
    /** $1 run id, $2 macro, $3 started at, $4 header, $5 owner, $6 lease ms, $7 token last held. */
    beginRun: `WITH up AS (
        INSERT INTO ${s}.runs AS r (run_id, macro, produced_by, status, started_at, updated_at, header,
                                    lease_owner, lease_token, lease_expires_at)
        VALUES ($1, $2, $2, 'running', $3, $3, $4, $5, ${nextToken}, ${expiry('$6')})
        ON CONFLICT (run_id) DO UPDATE SET macro = excluded.macro, produced_by = excluded.produced_by,
          status = 'running', started_at = excluded.started_at, ended_at = NULL,
          updated_at = excluded.updated_at, header = excluded.header, result = NULL,
          lease_owner = excluded.lease_owner, lease_token = excluded.lease_token,
          lease_expires_at = excluded.lease_expires_at
        -- Or our own begin, retried after its reply was lost (it committed): taken again.
        WHERE ${fence('r', '$7')} OR (r.lease_owner = $5 AND r.status = 'running' AND r.header = $4)
        RETURNING run_id, lease_token::float8 AS token),
      gone AS (DELETE FROM ${s}.checkpoints WHERE run_id IN (SELECT run_id FROM up))
      SELECT token FROM up`,
    /**
     * $1..$6 the audit columns, $7 run id, $8 seq, $9 at, $10 checkpoint, $11 token,
     * $12 lease ms, $13 whether the lease is held: then the write renews it.
     */
    saveCheckpoint: `WITH f AS (
        UPDATE ${s}.runs r SET updated_at = $9,
          lease_expires_at = CASE WHEN $13::boolean THEN ${expiry('$12')} ELSE r.lease_expires_at END
        WHERE r.run_id = $7 AND r.header IS NOT NULL AND ${fence('r', '$11')}
        RETURNING r.run_id),
      c AS (INSERT INTO ${s}.checkpoints (run_id, seq, at, data) SELECT run_id, $8, $9, $10 FROM f),
      w AS (INSERT INTO ${s}.audit (run_id, seq, at, kind, path, data)
        SELECT run_id, seq, at, kind, path, data FROM ${AUDIT_ROWS} WHERE EXISTS (SELECT 1 FROM f) ORDER BY n)
      SELECT count(*)::int AS n FROM f`,
    /** $1 run id, $2 macro, $3 produced by, $4 status, $5 started, $6 ended, $7 result, $8 keep checkpoints, $9 token last held. */
    saveResult: `WITH up AS (
        INSERT INTO ${s}.runs AS r (run_id, macro, produced_by, status, started_at, ended_at, updated_at, result)
        VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
        ON CONFLICT (run_id) DO UPDATE SET macro = excluded.macro, produced_by = excluded.produced_by,
          status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
          updated_at = excluded.updated_at, result = excluded.result,
          lease_owner = NULL, lease_expires_at = NULL
        WHERE ${fence('r', '$9')}
        RETURNING run_id),
      gone AS (DELETE FROM ${s}.checkpoints WHERE NOT $8::boolean AND run_id IN (SELECT run_id FROM up))
      SELECT count(*)::int AS n FROM up`,
    /** $1..$6 the audit columns, $7 the token last held for each record's run. */
    appendAudit: `WITH a AS (SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[], $4::text[], $5::text[],
          $6::text[], $7::bigint[]) WITH ORDINALITY AS a(run_id, seq, at, kind, path, data, token, n)),
      -- Locked, so a claim committing meanwhile is waited for and its token seen.
      locked AS (SELECT run_id, lease_token FROM ${s}.runs WHERE run_id IN (SELECT run_id FROM a) FOR SHARE),
      refused AS (SELECT 1 FROM a JOIN locked r USING (run_id) WHERE NOT ${fence('r', 'a.token')} LIMIT 1)
      INSERT INTO ${s}.audit (run_id, seq, at, kind, path, data)
      SELECT run_id, seq, at, kind, path, data FROM a WHERE NOT EXISTS (SELECT 1 FROM refused) ORDER BY n`,
    /** Why a write was refused: $1 run id. */
    leaseOf: `SELECT header IS NOT NULL AS begun, status, lease_owner,
        (extract(epoch FROM lease_expires_at) * 1000)::float8 AS expires_at
      FROM ${s}.runs WHERE run_id = $1`,
    /** One snapshot: the header, the result and the checkpoints in order. */
    loadRun: `SELECT header, result,
        coalesce((SELECT array_agg(c.data ORDER BY c.id) FROM ${s}.checkpoints c WHERE c.run_id = r.run_id),
          '{}') AS checkpoints
      FROM ${s}.runs r WHERE r.run_id = $1`,
    loadResult: `SELECT result FROM ${s}.runs WHERE run_id = $1`,
    readAudit: `SELECT run_id, seq, at, kind, path, data FROM ${s}.audit WHERE run_id = $1 ORDER BY id`,
    /** $1 macro or null, $2 status or null, $3 limit (planned with the values: the nulls fold away). */
    listRuns: `SELECT ${SUMMARY} FROM ${s}.runs
      WHERE ($1::text IS NULL OR macro = $1::text) AND ($2::text IS NULL OR status = $2::text)
      ORDER BY id DESC LIMIT $3`,
    /** $1 run id, $2 owner, $3 lease ms, $4 token held. */
    claimRun: `UPDATE ${s}.runs r SET lease_owner = $2, lease_token = ${nextToken},
        lease_expires_at = ${expiry('$3')}
      WHERE r.run_id = $1 AND r.status IN ('running', 'suspended') AND r.header IS NOT NULL
        AND (r.lease_owner IS NULL OR r.lease_expires_at < clock_timestamp() OR r.lease_token = $4::bigint)
      RETURNING r.lease_token::float8 AS token`,
    /** $1 macros, $2 updated before or null, $3 limit, $4 owner, $5 lease ms. Skips rows another claim holds. */
    claimStale: `WITH c AS (
        SELECT run_id FROM ${s}.runs
        WHERE status = 'running' AND header IS NOT NULL
          AND (lease_owner IS NULL OR lease_expires_at < clock_timestamp())
          AND macro = ANY($1::text[]) AND ($2::float8 IS NULL OR updated_at <= $2::float8)
        ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
      UPDATE ${s}.runs r SET lease_owner = $4, lease_token = ${nextToken}, lease_expires_at = ${expiry('$5')}
      FROM c WHERE r.run_id = c.run_id
      RETURNING r.id::float8 AS ord, r.lease_token::float8 AS token, ${SUMMARY.split(', ')
        .map((c) => `r.${c}`)
        .join(', ')}`,
    /** $1 run ids, $2 tokens, $3 owner, $4 lease ms: the runs whose leases were renewed. */
    renew: `UPDATE ${s}.runs r SET lease_expires_at = ${expiry('$4')}
      FROM unnest($1::text[], $2::bigint[]) AS h(run_id, token)
      WHERE r.run_id = h.run_id AND r.lease_token = h.token AND r.lease_owner = $3
      RETURNING r.run_id`,
    /** $1 run ids, $2 tokens: gives the leases back (on close). */
    release: `UPDATE ${s}.runs r SET lease_owner = NULL, lease_expires_at = NULL
      FROM unnest($1::text[], $2::bigint[]) AS h(run_id, token)
      WHERE r.run_id = h.run_id AND r.lease_token = h.token`,
    deleteRun: `WITH c AS (DELETE FROM ${s}.checkpoints WHERE run_id = $1),
        a AS (DELETE FROM ${s}.audit WHERE run_id = $1)
      DELETE FROM ${s}.runs WHERE run_id = $1`,
    /** $1 ended before. Suspended runs wait for a resume: kept. */
    prune: `WITH d AS (DELETE FROM ${s}.runs
          WHERE ended_at IS NOT NULL AND ended_at < $1 AND status <> 'suspended' RETURNING run_id),
        c AS (DELETE FROM ${s}.checkpoints WHERE run_id IN (SELECT run_id FROM d)),
        a AS (DELETE FROM ${s}.audit WHERE run_id IN (SELECT run_id FROM d))
      SELECT count(*)::int AS n FROM d`,
  };
}

export type PostgresStatements = ReturnType<typeof postgresStatements>;
