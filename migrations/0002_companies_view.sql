-- Read model: the companies the cabinet lists. Written by the inline projection `companies`
-- (projections/src/companies.rs) inside the append transaction. Columns are documented in docs/read-models.md.
CREATE TABLE companies_view
(
    company_id            uuid        NOT NULL PRIMARY KEY,
    kind                  text        NOT NULL CHECK (kind IN ('LEGAL_ENTITY', 'SOLE_PROPRIETOR')),
    inn                   text        NOT NULL,
    kpp                   text,
    ogrn                  text        NOT NULL,
    full_name             text        NOT NULL,
    short_name            text        NOT NULL,
    legal_address         text        NOT NULL,
    postal_address        text        NOT NULL,
    bank_name             text        NOT NULL,
    bik                   text        NOT NULL,
    correspondent_account text        NOT NULL,
    settlement_account    text        NOT NULL,
    contact_email         text        NOT NULL,
    contact_phone         text        NOT NULL,
    manager_name          text,
    manager_phone         text,
    manager_email         text,
    registered_at         timestamptz NOT NULL,
    registered_position   bigint      NOT NULL,
    updated_at            timestamptz NOT NULL,
    last_position         bigint      NOT NULL,
    -- One company per ИНН+КПП (an ИП has no КПП). The aggregate checks this first through a service; this
    -- constraint closes the race between two concurrent registrations. Its name is mapped to a VALIDATION
    -- error on the `inn` field in one place (api/src/error.rs). DEFERRABLE INITIALLY IMMEDIATE: checked at
    -- the end of each statement rather than row by row, so a batched replay that moves a КПП from one
    -- company to another in one upsert sees only the final state.
    CONSTRAINT companies_view_inn_kpp_key UNIQUE (inn, kpp) DEFERRABLE INITIALLY IMMEDIATE
);
-- NULL kpp values are distinct in a UNIQUE constraint; an ИП is unique by ИНН alone.
CREATE UNIQUE INDEX companies_view_inn_no_kpp_key ON companies_view (inn) WHERE kpp IS NULL;
CREATE INDEX companies_view_name_idx ON companies_view (lower(short_name));
CREATE INDEX companies_view_registered_position_idx ON companies_view (registered_position);
