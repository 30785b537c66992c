-- Issue 25: accounting documents from the lessor's accounting system (счета-фактуры, УПД, acts) are
-- Documents like the generated ones, with what the accounting system says of them; the ones delivered on an
-- accounting-documents request are linked to it (EffectApplied.documents).
ALTER TABLE exchange_documents_view
    ADD COLUMN external_id   text,
    ADD COLUMN period_from   date,
    ADD COLUMN period_to     date,
    ADD COLUMN amount        numeric(18, 2),
    ADD COLUMN vat           numeric(18, 2),
    ADD COLUMN formal_sha256 text,
    ADD COLUMN formal_name   text,
    ADD COLUMN formal_size   bigint;
-- The accounting documents of a contract by period (what an accounting-documents request delivers).
CREATE INDEX exchange_documents_accounting_idx ON exchange_documents_view (contract_id, period_from, period_to)
    WHERE external_id IS NOT NULL;

-- Imported documents delivered on a request (projection `documents`).
CREATE TABLE request_document_links
(
    request_id  uuid   NOT NULL,
    document_id uuid   NOT NULL,
    position    bigint NOT NULL,
    PRIMARY KEY (request_id, document_id)
);

ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check
    CHECK (kind IN ('bank_statement', 'fines_register', 'contracts', 'accounting_documents'));
