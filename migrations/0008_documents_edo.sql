-- Documents and ЭДО (issue 8): the documents a company and the lessor exchange and sign, the ЭДО connection
-- per company, numbering of generated documents, and attachments on mails.

-- Files of Document aggregates (the document itself and its detached signatures) are linked to their
-- company in documents_view like every other file, so downloads are authorized the same way.
ALTER TABLE documents_view DROP CONSTRAINT documents_view_source_check;
ALTER TABLE documents_view ADD CONSTRAINT documents_view_source_check
    CHECK (source IN ('request_attachment', 'request_result', 'policy_form', 'insured_event', 'document', 'signature'));

-- One row per Document (projection `documents`): generated or uploaded, with where its signing is.
CREATE TABLE exchange_documents_view
(
    document_id  uuid        NOT NULL PRIMARY KEY,
    company_id   uuid        NOT NULL,
    contract_id  uuid,
    request_id   uuid,
    -- invoice, reconciliation_act, no_debt_certificate, contract_in_force_certificate, book_value_certificate,
    -- os1, uploaded
    kind         text        NOT NULL,
    number       text,
    title        text        NOT NULL,
    doc_date     date        NOT NULL,
    sha256       text        NOT NULL,
    name         text        NOT NULL,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    issued_by    text        NOT NULL CHECK (issued_by IN ('client', 'staff')),
    status       text        NOT NULL CHECK (status IN ('draft', 'sent', 'delivered', 'signed', 'rejected',
                                                         'annulment_requested', 'annulled')),
    -- [{party, signerName, signerPosition, thumbprint, signedAt, sha256, name, powerOfAttorney}], in order.
    signatures   jsonb       NOT NULL DEFAULT '[]',
    -- The reason of a rejection or an annulment request.
    reason       text,
    issued_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    position     bigint      NOT NULL
);
CREATE INDEX exchange_documents_company_idx ON exchange_documents_view (company_id, issued_at DESC, document_id);
CREATE INDEX exchange_documents_contract_idx ON exchange_documents_view (contract_id, issued_at DESC)
    WHERE contract_id IS NOT NULL;
CREATE INDEX exchange_documents_request_idx ON exchange_documents_view (request_id) WHERE request_id IS NOT NULL;

-- One row per company that started an ЭДО connection (projection `edo`); no row: not connected.
CREATE TABLE edo_connections_view
(
    company_id     uuid        NOT NULL PRIMARY KEY,
    status         text        NOT NULL CHECK (status IN ('questionnaire_submitted', 'offer_accepted', 'connected',
                                                          'roaming_requested', 'roaming_active', 'rejected')),
    participant_id text,
    operator_code  text,
    offer_version  integer,
    reason         text,
    updated_at     timestamptz NOT NULL,
    position       bigint      NOT NULL
);

-- Numbers of generated documents: per series (invoice, act, certificate, os1) and year, the last number
-- given. Not a projection: a number is taken before the document's event is appended (a failed append
-- leaves a gap, which is allowed for these documents).
CREATE TABLE document_numbers
(
    series text    NOT NULL,
    year   integer NOT NULL,
    last   integer NOT NULL,
    PRIMARY KEY (series, year)
);

-- Files attached to a mail: [{sha256, name, contentType}], read from stored_files when it is sent.
ALTER TABLE outbox ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
