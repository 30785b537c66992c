-- The event log partitioned by position (issue 27, ADR 0029). `events` becomes a table partitioned by RANGE
-- (position): the primary key is the global position (unique across the partitions, since the partition key
-- is part of it), the commit order is the same (transaction_id, position), and old partitions can be moved
-- whole to the `archive` schema (`event_partition_archive`), where they are read but no longer indexed, vacuumed
-- or locked with the live log. The optimistic-concurrency key (aggregate_type, aggregate_id, sequence) cannot
-- be a unique index across the partitions: it moves to `event_streams`, one row per stream holding its
-- version, checked by a trigger on every appended row.

-- 1. The existing log steps aside, with its names freed.
ALTER TABLE events RENAME TO events_unpartitioned;
ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_pkey TO events_unpartitioned_pkey;
ALTER TABLE events_unpartitioned RENAME CONSTRAINT events_sequence_check TO events_unpartitioned_sequence_check;
ALTER INDEX events_position_key RENAME TO events_unpartitioned_position_key;
ALTER INDEX events_commit_order_idx RENAME TO events_unpartitioned_commit_order_idx;
ALTER INDEX events_type_idx RENAME TO events_unpartitioned_type_idx;
ALTER INDEX events_recorded_at_idx RENAME TO events_unpartitioned_recorded_at_idx;
ALTER INDEX events_correlation_idx RENAME TO events_unpartitioned_correlation_idx;
ALTER INDEX events_actor_idx RENAME TO events_unpartitioned_actor_idx;
ALTER SEQUENCE events_position_seq RENAME TO events_unpartitioned_position_seq;

-- 2. The partitioned log: the same columns, in the same order.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 1) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL,
    -- Handed out at INSERT time, not commit time: readers use (transaction_id, position) below the commit
    -- horizon (ADR 0014), as before.
    position       bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz                  NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT events_pkey PRIMARY KEY (position)
) PARTITION BY RANGE (position);

-- The archived partitions: the same shape, read through `event_log`.
CREATE SCHEMA archive;
CREATE TABLE archive.events (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (position);

-- The same indexes on both (an attached partition's indexes attach to its parent's). Loading a stream reads
-- by (aggregate_type, aggregate_id, sequence); catch-up and replay by the commit order.
ALTER TABLE archive.events ADD CONSTRAINT events_pkey PRIMARY KEY (position);
DO
$$
    DECLARE
        parent text;
    BEGIN
        FOREACH parent IN ARRAY ARRAY ['public.events', 'archive.events']
            LOOP
                EXECUTE format('CREATE INDEX events_stream_idx ON %s (aggregate_type, aggregate_id, sequence)', parent);
                EXECUTE format('CREATE INDEX events_commit_order_idx ON %s (transaction_id, position)', parent);
                EXECUTE format('CREATE INDEX events_type_idx ON %s (event_type)', parent);
                EXECUTE format('CREATE INDEX events_recorded_at_idx ON %s (recorded_at)', parent);
                EXECUTE format('CREATE INDEX events_correlation_idx ON %s ((metadata ->> ''correlation_id''))', parent);
                EXECUTE format('CREATE INDEX events_actor_idx ON %s ((metadata ->> ''actor''), position)', parent);
            END LOOP;
    END
$$;

-- The whole history, live and archived: what replay, verify, export, as-of and the audit read.
CREATE VIEW event_log AS
SELECT * FROM events
UNION ALL
SELECT * FROM archive.events;

COMMENT ON VIEW event_log IS
    'The whole event history: the live partitions (events) and the archived ones (archive.events) that are present.';

-- 3. How big a partition is, in positions. New partitions take the size in force when they are created.
CREATE TABLE event_partitioning
(
    singleton      boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
    partition_size bigint  NOT NULL CHECK (partition_size > 0),
    -- How many empty partitions are kept ahead of the last position handed out.
    ahead          integer NOT NULL CHECK (ahead BETWEEN 1 AND 100)
);
-- 1,000,000 positions, or the database's `cabinet.partition_size` setting when it has one (ALTER DATABASE …
-- SET cabinet.partition_size = …, before migrating: the existing log is split at that size too).
INSERT INTO event_partitioning (partition_size, ahead)
VALUES (coalesce(nullif(current_setting('cabinet.partition_size', true), '')::bigint, 1000000), 2);

-- Every partition of the log, live or archived, with its range (from the catalog: the one record of them).
CREATE VIEW event_partitions AS
SELECT c.relname::text                                                                        AS name,
       n.nspname = 'archive'                                                                  AS archived,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''(-?\d+)''\) TO'))[1]::bigint AS from_position,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''(-?\d+)''\)'))[1]::bigint      AS to_position,
       c.oid::regclass                                                                        AS relation
FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent IN ('public.events'::regclass, 'archive.events'::regclass);

-- The last position handed out (0: none yet).
CREATE FUNCTION event_last_position() RETURNS bigint
    LANGUAGE sql
    STABLE
    SECURITY DEFINER
    SET search_path = public, pg_temp
RETURN (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END
        FROM events_position_seq);

-- One partition of the log, positions [from_position, to_position): a table of the log's shape with its range
-- check (so that attaching it, and later moving it to the archive, scans nothing), attached to `events`.
-- ATTACH takes a lock that lets appends and reads go on, unlike CREATE … PARTITION OF. Returns its name.
CREATE FUNCTION event_partition_create(from_position bigint, to_position bigint) RETURNS text
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS
$$
DECLARE
    name text := format('events_p%s', from_position);
BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (position >= %s AND position < %s)',
                   name, name || '_range', from_position, to_position);
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   name, from_position, to_position);
    RETURN name;
END
$$;
REVOKE EXECUTE ON FUNCTION event_partition_create(bigint, bigint) FROM PUBLIC;

-- Keeps `ahead` empty partitions after the last position handed out. Runs as the schema's owner, so a
-- serving process with the runtime role may call it. Returns how many it created.
CREATE FUNCTION event_partitions_ensure() RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS
$$
DECLARE
    size    bigint;
    keep    integer;
    last    bigint := event_last_position();
    top     bigint;
    created integer := 0;
BEGIN
    SELECT partition_size, ahead INTO size, keep FROM event_partitioning;
    -- One creator at a time (the nodes all call this).
    PERFORM pg_advisory_xact_lock(hashtext('cabinet:event_partitions'));
    SELECT coalesce(max(to_position), 0) INTO top FROM event_partitions;
    WHILE top <= last + size * keep
        LOOP
            PERFORM event_partition_create(top, top + size);
            top := top + size;
            created := created + 1;
        END LOOP;
    RETURN created;
END
$$;

-- Moves one full live partition to the archive: it stays readable through `event_log` (and in every dump),
-- leaves the live log's indexes, vacuum and locks, and may be moved to cheaper storage, or dumped and
-- dropped (then the history is incomplete: `event_history_gaps` says which positions are missing). The
-- newest partition holding events is never archived. Moving happens in one transaction, so a reader of
-- `event_log` sees the events in exactly one of the two places. It holds the log's lock until its transaction
-- ends: nothing that reads the rows belongs in it (the caller counts them after).
CREATE FUNCTION event_partition_archive(partition text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS
$$
DECLARE
    p record;
BEGIN
    SELECT * INTO p FROM event_partitions WHERE name = partition;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partition: no partition of the event log is called %', partition
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p.archived THEN
        RAISE EXCEPTION 'partition: % is archived already', partition USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p.to_position > event_last_position() THEN
        RAISE EXCEPTION 'partition: % is not full (positions up to % are not all handed out yet)',
            partition, p.to_position - 1 USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The range check already holds (every partition is created with it, or validated below), so attaching
    -- to the archive does not scan the rows.
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = p.relation AND conname = partition || '_range') THEN
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (position >= %s AND position < %s)',
                       partition, partition || '_range', p.from_position, p.to_position);
    END IF;
    EXECUTE format('ALTER TABLE events DETACH PARTITION %I', partition);
    EXECUTE format('ALTER TABLE %I SET SCHEMA archive', partition);
    EXECUTE format('ALTER TABLE archive.events ATTACH PARTITION archive.%I FOR VALUES FROM (%s) TO (%s)',
                   partition, p.from_position, p.to_position);
END
$$;

-- An operator's act (`cabinet events archive`), run as the schema's owner: not for the serving processes.
REVOKE EXECUTE ON FUNCTION event_partition_archive(text) FROM PUBLIC;

-- The positions the history lacks: ranges between the first partition (which starts at 0) and the last
-- that no live or archived partition covers (an archived partition that was dropped). Empty when whole.
CREATE FUNCTION event_history_gaps()
    RETURNS TABLE
            (
                from_position bigint,
                to_position   bigint
            )
    LANGUAGE sql
    STABLE
AS
$$
WITH ranges AS (SELECT from_position,
                       to_position,
                       lag(to_position, 1, 0::bigint) OVER (ORDER BY from_position) AS previous_end
                FROM event_partitions)
SELECT previous_end, from_position
FROM ranges
WHERE from_position > previous_end
$$;

-- 4. The streams and their versions: the optimistic-concurrency key.
CREATE TABLE event_streams
(
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    version        bigint NOT NULL CHECK (version >= 1),
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Every appended row must be the next of its stream: sequence 1 creates the stream, sequence n moves it from
-- n − 1. A concurrent append of the same sequence waits for the first one's row lock and then finds the
-- version moved: the conflict is raised as a unique violation of `event_streams_version`, the one error the
-- store reads as an optimistic-lock conflict. (A stream's events are appended in sequence order within a
-- statement, so a command's several events pass one after the other.)
CREATE FUNCTION events_next_in_stream() RETURNS trigger
    LANGUAGE plpgsql
    -- As the schema's owner: the serving processes' role appends to the log without writing the streams
    -- table itself.
    SECURITY DEFINER
    SET search_path = public, pg_temp
AS
$$
BEGIN
    IF NEW.sequence = 1 THEN
        INSERT INTO event_streams (aggregate_type, aggregate_id, version)
        VALUES (NEW.aggregate_type, NEW.aggregate_id, 1)
        ON CONFLICT DO NOTHING;
    ELSE
        UPDATE event_streams
        SET version = NEW.sequence
        WHERE aggregate_type = NEW.aggregate_type
          AND aggregate_id = NEW.aggregate_id
          AND version = NEW.sequence - 1;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'stream %/% has no room for sequence %: another append got there first',
            NEW.aggregate_type, NEW.aggregate_id, NEW.sequence
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'event_streams_version', TABLE = 'events';
    END IF;
    RETURN NEW;
END
$$;

-- 5. The existing log moves in, in its order, keeping every position, transaction id and time.
DO
$$
    DECLARE
        last bigint;
        top  bigint;
        size bigint := (SELECT partition_size FROM event_partitioning);
    BEGIN
        SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO last FROM events_unpartitioned_position_seq;
        -- Partitions for the existing positions, from 0.
        top := 0;
        WHILE top <= last
            LOOP
                PERFORM event_partition_create(top, top + size);
                top := top + size;
            END LOOP;
        IF last > 0 THEN
            PERFORM setval('events_position_seq', last);
        END IF;
    END
$$;

INSERT INTO events OVERRIDING SYSTEM VALUE
SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, position,
       transaction_id, recorded_at
FROM events_unpartitioned
ORDER BY position;

INSERT INTO event_streams (aggregate_type, aggregate_id, version)
SELECT aggregate_type, aggregate_id, max(sequence)
FROM events
GROUP BY aggregate_type, aggregate_id;

DROP TABLE events_unpartitioned;

CREATE TRIGGER events_next_in_stream
    BEFORE INSERT
    ON events
    FOR EACH ROW
EXECUTE FUNCTION events_next_in_stream();

SELECT event_partitions_ensure();
