-- Issue 21, first part (ADR 0016, proposed): a key per data subject, outside the event log and the
-- snapshots. `wrapped_key` is the subject's data key encrypted by the master key `master_key_id` (from the
-- settings); destroying a subject's data sets both to NULL, and every value sealed under the key reads as
-- destroyed from then on, in the log, in snapshots, in exports and in backups taken before.
CREATE TABLE subject_keys
(
    subject_id    uuid        NOT NULL PRIMARY KEY,
    master_key_id text,
    wrapped_key   bytea,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    destroyed_at  timestamptz,
    CHECK ((destroyed_at IS NULL) = (wrapped_key IS NOT NULL AND master_key_id IS NOT NULL))
);
