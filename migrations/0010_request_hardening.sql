-- Issue 19: what hardening against hostile clients needs of the schema.

-- A stored file's last upload: a request that uploaded a file and was then refused discards it only when
-- nobody uploaded the same content since (and nothing references it), so a concurrent upload of the same
-- bytes is never lost.
ALTER TABLE stored_files ADD COLUMN touched_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- The per-recipient hourly cap on mails callers ask for counts these.
CREATE INDEX outbox_recipient_recent_idx ON outbox (recipient, template, created_at);

-- The per-account daily cap on login changes counts these.
CREATE INDEX control_strings_recent_idx ON control_strings (account_id, purpose, created_at);
