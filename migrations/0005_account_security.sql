-- Client accounts and security (issue 4). Like 0003, none of this is in the event log: these tables hold
-- secrets (password hashes, hashed control strings, mails waiting to be sent) and personal data that must be
-- destroyable. Everything secret is stored hashed, except a mail's body until the outbox has sent it.

-- Blocked by staff (blocked_at, blocked_reason) or deleted on request: deactivated at once, its personal data
-- destroyed by `destroy_personal_data_by` (the destruction itself is a later personal-data issue).
ALTER TABLE accounts RENAME COLUMN disabled_at TO blocked_at;
ALTER TABLE accounts
    ADD COLUMN blocked_reason            text,
    ADD COLUMN deleted_at                timestamptz,
    ADD COLUMN destroy_personal_data_by  timestamptz,
    -- A temporary password stops working at this moment (10 days after it was issued).
    ADD COLUMN temporary_password_expires_at timestamptz,
    ADD COLUMN password_changed_at       timestamptz,
    -- The terms-of-use version this account last accepted (NULL: none yet).
    ADD COLUMN terms_accepted_version    integer,
    -- The language of its mails: ru or en.
    ADD COLUMN locale                    text NOT NULL DEFAULT 'ru' CHECK (locale IN ('ru', 'en')),
    ADD CONSTRAINT accounts_deleted_has_deadline
        CHECK (deleted_at IS NULL OR destroy_personal_data_by IS NOT NULL);

-- Sessions: an absolute expiry (expires_at) and an idle one (last_seen_at + the idle timeout), and the client
-- they were opened from.
ALTER TABLE sessions
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ADD COLUMN client_address text,
    ADD COLUMN user_agent text;

-- Failed sign-ins, keyed by the SHA-256 of the normalised login so that unknown e-mails are counted (and
-- locked) exactly like known ones: the answer never tells whether an account exists. Rows older than the
-- window are pruned by the sign-in path.
CREATE TABLE login_failures
(
    login_key bytea       NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_key_idx ON login_failures (login_key, failed_at);

CREATE TABLE login_locks
(
    login_key    bytea       NOT NULL PRIMARY KEY,
    locked_until timestamptz NOT NULL
);

-- Clients (address + user agent, hashed) an account has signed in from: a sign-in from a new one is logged
-- and mailed to the account.
CREATE TABLE account_clients
(
    account_id    uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    client_key    bytea       NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account_id, client_key)
);

-- Single-use control strings: password recovery (1 hour) and login e-mail change (24 hours). Only their
-- SHA-256 is stored.
CREATE TABLE control_strings
(
    token_hash  bytea       NOT NULL PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    purpose     text        NOT NULL CHECK (purpose IN ('password_reset', 'login_change')),
    -- For login_change: the address being confirmed.
    new_email   text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CHECK ((purpose = 'login_change') = (new_email IS NOT NULL))
);
CREATE INDEX control_strings_account_idx ON control_strings (account_id, purpose);

-- Terms of use: published versions, and who accepted which, when and from where.
CREATE TABLE terms_versions
(
    version      integer     NOT NULL PRIMARY KEY,
    text         text        NOT NULL,
    published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_by uuid        NOT NULL
);

CREATE TABLE terms_acceptances
(
    account_id     uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    version        integer     NOT NULL REFERENCES terms_versions (version),
    accepted_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    client_address text,
    PRIMARY KEY (account_id, version)
);

-- The security log: sign-ins, failures, lockouts, password changes and resets, sign-ins from a new client,
-- staff actions on accounts. Never a password, hash, token or control string.
CREATE TABLE security_log
(
    id             bigserial   NOT NULL PRIMARY KEY,
    account_id     uuid        NOT NULL,
    kind           text        NOT NULL,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    client_address text,
    user_agent     text,
    -- The staff account that acted, for staff actions.
    actor_id       uuid,
    detail         text
);
CREATE INDEX security_log_account_idx ON security_log (account_id, id);

-- 0001 reserved a generic outbox table that nothing ever wrote to; the mail outbox replaces it.
DROP TABLE outbox;

-- The transactional outbox: a mail is a row written in the same transaction as the change that causes it.
-- The sender (one node at a time) delivers it with retries and marks it sent; then its body, which may hold a
-- temporary password or a control string, is wiped.
CREATE TABLE outbox
(
    id              bigserial   NOT NULL PRIMARY KEY,
    -- The Message-ID header: the same on every delivery attempt, so receivers can drop duplicates.
    message_id      text        NOT NULL UNIQUE,
    template        text        NOT NULL,
    recipient       text        NOT NULL,
    subject         text        NOT NULL,
    body_text       text,
    body_html       text,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_error      text,
    sent_at         timestamptz,
    -- Set when the transport refused the mail for good (a permanent SMTP error).
    failed_at       timestamptz,
    CHECK ((sent_at IS NULL AND failed_at IS NULL) OR (body_text IS NULL AND body_html IS NULL))
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Wake the sender when a mail is committed.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
