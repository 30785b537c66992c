-- Workers in segments (issue 27, ADR 0028). A catch-up worker's events are split into `segments` parts by a
-- hash of the aggregate id; each part has its own checkpoint (`<worker>#<segment>/<segments>` in
-- projection_checkpoints; one segment keeps the worker's own name) and its own fenced lease (a session
-- advisory lock on the connection that does the part's work), so several nodes share a worker.

-- The segment of an aggregate: the one rule, used by the catch-up read and by a worker that acts on rows
-- of its own (the business day closes the contracts of its segment).
CREATE FUNCTION event_segment(aggregate_id text, segments integer) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN mod(hashtext(aggregate_id)::bigint + 2147483648, segments)::integer;

-- How many segments each worker runs in: written by a starting node from `workers.segments`, followed by
-- every running node. A batch holds this row FOR SHARE, so changing the count waits for the batches in
-- flight, and no batch of the old count commits after it.
CREATE TABLE worker_segments
(
    worker     text        NOT NULL PRIMARY KEY,
    segments   integer     NOT NULL CHECK (segments BETWEEN 1 AND 256),
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- The business day closed segment by segment: a day is closed (business_days_closed) once every segment
-- of the count it was closed under has closed its contracts.
CREATE TABLE business_day_segments
(
    business_date date        NOT NULL,
    segment       integer     NOT NULL,
    segments      integer     NOT NULL,
    contracts     integer     NOT NULL,
    closed_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_date, segments, segment)
);
