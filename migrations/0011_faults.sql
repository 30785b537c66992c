-- Issue 20: what surviving faults needs of the schema.

-- The commit horizon (ADR 0014). Every transaction that appends events first takes this shared advisory
-- lock and its own transaction id in one statement, before any write: so the appenders still running are
-- the ones holding the lock, and their ids are read atomically from one scan of the lock table. The horizon
-- is the smallest id a running appender holds, bounded by the first unassigned id of this statement's
-- snapshot (taken before the lock table is read): every event whose transaction id is below it belongs to a
-- transaction that has finished for every later snapshot. Unlike pg_snapshot_xmin, it does not wait for
-- transactions that never append events (a long report, another database's work, `projections verify`).
--
-- A reader calls it in one statement and reads events `transaction_id < horizon` in a later one (a
-- snapshot taken after the lock table was read); in the same statement it would be wrong.
--
-- In the rare moment an appender holds the lock but its transaction-id lock is not yet visible, the
-- function falls back to the snapshot's xmin for that call (still correct, only less lively).
-- A 32-bit transaction id from the lock table, widened to 64 bits next to `reference` (an xid8 of the same
-- moment): running ids lie within 2^31 of it, before or after (an appender may take its id after the
-- reference snapshot was taken).
CREATE FUNCTION cabinet_widen_xid(x xid, reference xid8) RETURNS bigint
    LANGUAGE sql
    IMMUTABLE
AS
$$
SELECT r + ((((x::text::bigint - (r % 4294967296)) % 4294967296 + 4294967296 + 2147483648) % 4294967296) - 2147483648)
FROM (SELECT reference::text::bigint AS r) ref
$$;

CREATE FUNCTION cabinet_commit_horizon() RETURNS xid8
    LANGUAGE sql
    VOLATILE
AS
$$
WITH snap AS (SELECT pg_current_snapshot() AS s),
     locks AS MATERIALIZED (SELECT locktype, database, classid, objid, objsubid, virtualtransaction, transactionid,
                                   mode, granted
                            FROM pg_locks),
     appenders AS (SELECT virtualtransaction
                   FROM locks
                   WHERE locktype = 'advisory'
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND classid = 3243 AND objid = 1 AND objsubid = 2 AND granted),
     ids AS (SELECT a.virtualtransaction,
                    (SELECT min(cabinet_widen_xid(l.transactionid, pg_snapshot_xmax((SELECT s FROM snap))))
                     FROM locks l
                     WHERE l.virtualtransaction = a.virtualtransaction
                       AND l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted) AS id
             FROM appenders a)
SELECT least(
           pg_snapshot_xmax((SELECT s FROM snap))::text::bigint,
           -- An appender whose transaction-id lock is not visible yet: fall back to xmin for this call.
           CASE WHEN EXISTS (SELECT 1 FROM ids WHERE id IS NULL)
                THEN pg_snapshot_xmin((SELECT s FROM snap))::text::bigint END,
           (SELECT min(id) FROM ids)
       )::text::xid8
$$;

COMMENT ON FUNCTION cabinet_commit_horizon() IS
    'Every events.transaction_id below this value belongs to a finished transaction (ADR 0014). Read it in one statement, then read events below it in a later one.';

-- The outbox sender claims the rows it is about to hand to the transport: a lease names the claiming
-- sender and lasts longer than one delivery attempt may take, so no two senders ever hand one row to the
-- transport at once, and a row whose sender died is taken over when its lease ends.
ALTER TABLE outbox
    ADD COLUMN claimed_by  text,
    ADD COLUMN lease_until timestamptz;
