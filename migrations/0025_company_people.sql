-- Issue 26: people inside a lessee company. Each link of a person to a company carries the person's role in
-- that company; the people linked before roles existed could do everything a client could, so they start as
-- directors (a director demotes them). From now on every link names its role.
ALTER TABLE account_companies
    ADD COLUMN role text NOT NULL DEFAULT 'director' CHECK (role IN ('director', 'accountant', 'viewer'));
ALTER TABLE account_companies ALTER COLUMN role DROP DEFAULT;

-- Invitations a company's director (or staff) sent to a colleague: the e-mail, the role offered, the
-- single-use control string (only its SHA-256) and how the invitation ended. Outside the event log, like the
-- accounts: an invitation holds a person's e-mail and a secret. Ended invitations are deleted 30 days after
-- they ended (the personal-data sweep).
CREATE TABLE invitations
(
    invitation_id uuid        NOT NULL PRIMARY KEY,
    company_id    uuid        NOT NULL,
    email         text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('director', 'accountant', 'viewer')),
    token_hash    bytea       NOT NULL UNIQUE,
    invited_by    uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at    timestamptz NOT NULL,
    accepted_at   timestamptz,
    accepted_by   uuid,
    revoked_at    timestamptz,
    revoked_by    uuid,
    CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE INDEX invitations_company_idx ON invitations (company_id, created_at);
-- One open invitation per company and address: a second one replaces the first.
CREATE UNIQUE INDEX invitations_open_idx ON invitations (company_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Powers of attorney (МЧД) companies registered for their people (PowerOfAttorneyRegistered/Revoked): what
-- the signing-authority check reads. Inline read model.
CREATE TABLE powers_of_attorney_view
(
    company_id     uuid        NOT NULL,
    number         uuid        NOT NULL,
    representative uuid        NOT NULL,
    document_kinds text[]      NOT NULL,
    requests       boolean     NOT NULL,
    valid_from     date        NOT NULL,
    valid_until    date        NOT NULL,
    registered_at  timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text,
    last_position  bigint      NOT NULL,
    PRIMARY KEY (company_id, number)
);
CREATE INDEX powers_of_attorney_representative_idx ON powers_of_attorney_view (representative, company_id);
