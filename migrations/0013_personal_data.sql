-- Issue 21 (ADR 0016): crypto-shredding of personal data, its destruction and its ledger.

-- A subject is a role within an aggregate (the company's contact, a request's drivers): its key is made on
-- the first personal value the store seals for it. 0012 made the table; nothing wrote to it.
ALTER TABLE subject_keys
    ADD COLUMN scope_type text NOT NULL,
    ADD COLUMN scope_id   text NOT NULL,
    ADD COLUMN role       text NOT NULL;
CREATE UNIQUE INDEX subject_keys_scope_idx ON subject_keys (scope_type, scope_id, role);

-- The master key generated on first use when the settings configure none ([personal_data] master_keys):
-- destruction stays final (a destroyed data key is gone), but a dump of the database opens live values.
CREATE TABLE personal_data_master_keys
(
    id         text        NOT NULL PRIMARY KEY,
    key        bytea       NOT NULL CHECK (length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Read models show destroyed personal values as NULL.
ALTER TABLE companies_view
    ALTER COLUMN contact_email DROP NOT NULL,
    ALTER COLUMN contact_phone DROP NOT NULL;
ALTER TABLE insured_events_view
    ALTER COLUMN place DROP NOT NULL,
    ALTER COLUMN description DROP NOT NULL,
    ALTER COLUMN contact_phone DROP NOT NULL;

-- A deleted account keeps its row as a tombstone once destroyed: the login becomes
-- `destroyed+<account id>@invalid` (RFC 2606), which names nobody.
ALTER TABLE accounts
    ADD COLUMN personal_data_destroyed_at timestamptz,
    -- Consent to processing (given with the terms of use: version, time, address in terms_acceptances)
    -- withdrawn: destroyed as soon as no contract keeps the data.
    ADD COLUMN consent_withdrawn_at timestamptz;

-- The acts of destruction (акт об уничтожении персональных данных), one per destruction; no personal value,
-- only references that reveal nothing once the keys are gone. The same record goes to the ledger file
-- outside the database, which a restore procedure re-applies (docs/operations.md).
CREATE TABLE personal_data_destructions
(
    destruction_id uuid        NOT NULL PRIMARY KEY,
    -- The ground: account_deleted, retention_expired, consent_withdrawn, unlawful.
    ground         text        NOT NULL,
    -- Categories of data destroyed (contact details, identification, free text, account, …).
    categories     text[]      NOT NULL,
    -- What it concerned: an account and/or a company, by id.
    account_id     uuid,
    company_id     uuid,
    -- The subjects whose keys were destroyed.
    subjects       uuid[]      NOT NULL,
    -- Counts of what was removed or blanked, by place (JSON object).
    removed        jsonb       NOT NULL,
    -- The business date and the moment of destruction.
    business_date  date        NOT NULL,
    destroyed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The deadline it met.
    due_by         timestamptz,
    -- The PersonalDataDestroyed event's position.
    position       bigint
);

-- The one rewrite of events recorded before sealing existed (ADR 0016): done once, then never again.
CREATE TABLE personal_data_rewrite
(
    done_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    events   bigint      NOT NULL,
    sealed   bigint      NOT NULL
);
