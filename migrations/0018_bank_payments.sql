-- Issue 25: bank statements imported from the lessor's bank-client files.

-- Every incoming payment of an imported statement (`bank-payments` read model, inline): the payment as the
-- statement names it, where it stands (matched, queued for staff, returned), and for a matched one the
-- contract and the parts it pays. payer_name and purpose are personal data (sealed in the log; NULL here
-- once destroyed).
CREATE TABLE bank_payments_view
(
    payment_id     uuid          NOT NULL PRIMARY KEY,
    import_id      uuid          NOT NULL,
    status         text          NOT NULL CHECK (status IN ('matched', 'queued', 'returned')),
    reference      text          NOT NULL,
    number         text          NOT NULL,
    payment_date   date          NOT NULL,
    credited_on    date,
    amount         numeric(16,2) NOT NULL,
    payer_name     text,
    payer_inn      text,
    payer_kpp      text,
    payer_account  text,
    payer_bank     text,
    purpose        text,
    uin            text,
    format         text          NOT NULL,
    sha256         text          NOT NULL,
    place          integer       NOT NULL,
    contract_id    uuid,
    company_id     uuid,
    -- uin, invoice, contract_number, payer, staff
    rule           text,
    -- [{"kind": "leasing"|"penalty"|"fine"|"insurance"|"credit", "policy_id"?, "amount"}]
    parts          jsonb         NOT NULL DEFAULT '[]',
    -- no_match, several_contracts, payer_is_not_lessee, contract_closed, parts_exceed_amount, posting_refused
    queue_reason   text,
    -- The reason's particulars: {"numbers": [...]}, {"number": ...}, {"detail": ...}.
    queue_detail   jsonb,
    return_reason  text,
    received_at    timestamptz   NOT NULL,
    updated_at     timestamptz   NOT NULL,
    position       bigint        NOT NULL
);
CREATE INDEX bank_payments_view_status_idx ON bank_payments_view (status, position);
CREATE INDEX bank_payments_view_import_idx ON bank_payments_view (import_id, place);
CREATE INDEX bank_payments_view_company_idx ON bank_payments_view (company_id, payment_date);

-- One row per imported file (written by the import, not a read model: the log holds each payment, this the
-- run's report). Rejected lines are kept up to 1,000 per file with their place, field and reason; the
-- counts are exact.
CREATE TABLE imports
(
    import_id      uuid        NOT NULL PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('bank_statement')),
    format         text,
    file_name      text        NOT NULL,
    sha256         text        NOT NULL,
    size           bigint      NOT NULL,
    imported_by    text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    accounts       text[]      NOT NULL DEFAULT '{}',
    lines          integer     NOT NULL DEFAULT 0,
    matched        integer     NOT NULL DEFAULT 0,
    queued         integer     NOT NULL DEFAULT 0,
    duplicates     integer     NOT NULL DEFAULT 0,
    rejected       integer     NOT NULL DEFAULT 0,
    -- Debits, and credits to accounts that are not the lessor's: not payments to the lessor.
    skipped        integer     NOT NULL DEFAULT 0,
    amount_matched numeric(18,2) NOT NULL DEFAULT 0,
    amount_queued  numeric(18,2) NOT NULL DEFAULT 0,
    rejections     jsonb       NOT NULL DEFAULT '[]',
    error          text,
    started_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at    timestamptz
);
CREATE INDEX imports_started_idx ON imports (started_at DESC);

CREATE VIEW analytics.bank_payments AS
SELECT payment_id, import_id, status, payment_date, credited_on, amount, payer_inn, payer_kpp, contract_id,
       company_id, rule, parts, queue_reason, return_reason, received_at
FROM public.bank_payments_view;
