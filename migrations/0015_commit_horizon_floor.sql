-- The commit horizon never falls below the snapshot's xmin (ADR 0014). The lock table is read before the
-- snapshot is taken (the CTEs are evaluated as they are first needed), so an appender seen holding the lock
-- may have committed by the time of the snapshot; its id then lies below xmin and made the horizon lag one
-- transaction behind a reader's own snapshot. Every id below xmin is finished, so xmin is always a safe floor.
CREATE OR REPLACE FUNCTION cabinet_commit_horizon() RETURNS xid8
    LANGUAGE sql
    VOLATILE
AS
$$
WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
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
SELECT greatest(
           pg_snapshot_xmin((SELECT s FROM snap))::text::bigint,
           least(
               pg_snapshot_xmax((SELECT s FROM snap))::text::bigint,
               -- An appender whose transaction-id lock is not visible yet: fall back to xmin for this call.
               CASE WHEN EXISTS (SELECT 1 FROM ids WHERE id IS NULL)
                    THEN pg_snapshot_xmin((SELECT s FROM snap))::text::bigint END,
               (SELECT min(id) FROM ids)
           )
       )::text::xid8
$$;

COMMENT ON FUNCTION cabinet_commit_horizon() IS
    'Every events.transaction_id below this value belongs to a finished transaction (ADR 0014). Read it in one statement, then read events below it in a later one.';
