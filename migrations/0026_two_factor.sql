-- Issue 26: two-factor sign-in (TOTP, RFC 6238) and recovery codes. Outside the event log, like the accounts.

-- The key that seals TOTP secrets (ChaCha20-Poly1305, the account id as associated data): a copy of
-- `account_totp` alone yields no secret. One random key per installation, shared by every node; two
-- version-4 UUIDs give 244 random bits from the server's strong random source, of which the first 32 bytes
-- are kept (at least 240 random bits).
CREATE TABLE totp_key
(
    id         int         NOT NULL PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    key        bytea       NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO totp_key (key)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

-- An account's authenticator: the sealed secret (nonce || ciphertext), on from `enabled_at` (NULL: enrolment
-- waits for its first code), and the last time step a code was accepted for (a code works once).
CREATE TABLE account_totp
(
    account_id    uuid        NOT NULL PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    secret_sealed bytea       NOT NULL,
    enabled_at    timestamptz,
    last_step     bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Recovery codes: SHA-256 of the account id and the code; each works once.
CREATE TABLE totp_recovery_codes
(
    account_id uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    code_hash  bytea       NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (account_id, code_hash)
);
