-- Issue 25: the ЭДО operators roaming works with are data staff maintain (EdoOperatorsPublished), not a
-- constant. No rows: no list published yet, and the built-in defaults apply.
CREATE TABLE edo_operators_view
(
    code         text        NOT NULL PRIMARY KEY,
    name         text        NOT NULL,
    ordinal      integer     NOT NULL,
    published_at timestamptz NOT NULL
);
