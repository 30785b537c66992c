-- Accounts live outside the event log: password hashes and tokens are secrets and never enter an event.
CREATE TABLE accounts
(
    account_id    uuid        NOT NULL PRIMARY KEY,
    -- Login = e-mail, stored normalised (trimmed, lower case) by the application.
    email         text        NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash text        NOT NULL,
    roles         text[]      NOT NULL CHECK (cardinality(roles) > 0),
    -- Set for temporary passwords: the authorization layer then allows only changePassword, me and logout.
    must_change_password boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    disabled_at   timestamptz
);

-- A CLIENT account sees only the companies it is linked to; one person may serve several companies.
CREATE TABLE account_companies
(
    account_id uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    company_id uuid        NOT NULL,
    linked_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account_id, company_id)
);
CREATE INDEX account_companies_company_idx ON account_companies (company_id);

-- Sessions: opaque random tokens, stored as SHA-256 hashes, with an expiry; logout sets revoked_at.
CREATE TABLE sessions
(
    token_hash  bytea       NOT NULL PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_account_idx ON sessions (account_id);
