-- The event store: postgres-es's `events` / `snapshots` layout (jsonb), plus what our own EventStore needs.
-- See docs/adr/0001-event-store.md for why the stock postgres-es store is not used.

CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 1) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL,
    -- Global order of insertion. Identity values are handed out at INSERT time, not at commit time, so
    -- position alone is NOT commit order: readers use (transaction_id, position) below the snapshot xmin.
    position       bigint GENERATED ALWAYS AS IDENTITY,
    -- The inserting transaction. Every transaction id below pg_snapshot_xmin(pg_current_snapshot()) has
    -- finished, so a reader that stays below it never skips an event that commits late.
    transaction_id xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz                  NOT NULL DEFAULT clock_timestamp(),
    -- The optimistic-concurrency key: the only constraint whose violation is a conflict.
    CONSTRAINT events_pkey PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_position_key ON events (position);
-- Catch-up readers and replay scan in commit order.
CREATE INDEX events_commit_order_idx ON events (transaction_id, position);
CREATE INDEX events_type_idx ON events (event_type);
CREATE INDEX events_recorded_at_idx ON events (recorded_at);
CREATE INDEX events_correlation_idx ON events ((metadata ->> 'correlation_id'));

-- One snapshot per aggregate, written in the append transaction every N events.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          jsonb                                NOT NULL,
    recorded_at      timestamptz                          NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Idempotent commands: a key used once records what the command produced, in the same transaction as its
-- events, so a retry with the same key returns the first result instead of acting again.
CREATE TABLE idempotency_keys
(
    idempotency_key text        NOT NULL,
    actor           text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    last_position   bigint,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- A key is scoped to the actor that used it: another account's key never collides with yours.
    PRIMARY KEY (actor, idempotency_key)
);

-- Checkpoints of catch-up consumers: the last (transaction_id, position) applied, written in the same
-- transaction as the consumer's effects.
CREATE TABLE projection_checkpoints
(
    name           text        NOT NULL PRIMARY KEY,
    transaction_id xid8        NOT NULL DEFAULT '0',
    position       bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Transactional outbox: rows written with the change that causes them, delivered by a catch-up worker.
CREATE TABLE outbox
(
    id             uuid        NOT NULL PRIMARY KEY,
    kind           text        NOT NULL,
    payload        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts       integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at        timestamptz,
    last_error     text
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL;
