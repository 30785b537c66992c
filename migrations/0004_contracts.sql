-- Read models of leasing contracts, written by the inline projection `contracts`
-- (projections/src/contracts.rs) inside the append transaction, and the business clock's day. Every row
-- carries its company id (the access check and a future distribution key). Columns are documented in
-- docs/read-models.md. Money is numeric(16,2), never float.

CREATE TABLE contracts_view
(
    contract_id         uuid          NOT NULL PRIMARY KEY,
    company_id          uuid          NOT NULL,
    number              text          NOT NULL,
    contract_date       date          NOT NULL,
    status              text          NOT NULL CHECK (status IN ('concluded', 'active', 'completed', 'terminated')),
    subject_kind        text          NOT NULL,
    subject_make        text          NOT NULL,
    subject_model       text          NOT NULL,
    subject_year        integer       NOT NULL,
    vin                 text,
    serial_number       text,
    registration_plate  text,
    price               numeric(16,2) NOT NULL,
    advance             numeric(16,2) NOT NULL,
    advance_percent     numeric(7,4),
    term_months         integer       NOT NULL,
    annual_rate         numeric(9,4)  NOT NULL,
    first_due_date      date          NOT NULL,
    schedule_kind       text          NOT NULL CHECK (schedule_kind IN ('annuity', 'decreasing', 'explicit')),
    redemption          numeric(16,2) NOT NULL,
    penalty_rate        numeric(9,4)  NOT NULL,
    penalty_base_includes_vat boolean NOT NULL,
    penalty_payment_day_counts boolean NOT NULL,
    activated_on        date,
    closed_on           date,
    termination_reason  text,
    next_payment_date   date,
    next_payment_amount numeric(16,2),
    concluded_position  bigint        NOT NULL,
    last_position       bigint        NOT NULL,
    updated_at          timestamptz   NOT NULL,
    -- Contract numbers are unique across the lessor. The aggregate cannot see other contracts; this
    -- constraint decides, and its name is mapped to a VALIDATION error on `number` (api/src/error.rs).
    CONSTRAINT contracts_view_number_key UNIQUE (number) DEFERRABLE INITIALLY IMMEDIATE
);
CREATE INDEX contracts_view_company_idx ON contracts_view (company_id, contract_date DESC, contract_id);

-- One row per schedule line.
CREATE TABLE schedule_view
(
    contract_id    uuid          NOT NULL,
    line_number    integer       NOT NULL,
    company_id     uuid          NOT NULL,
    kind           text          NOT NULL CHECK (kind IN ('advance', 'regular', 'redemption')),
    due_date       date          NOT NULL,
    amount         numeric(16,2) NOT NULL,
    vat_rate       numeric(5,2)  NOT NULL,
    vat_amount     numeric(16,2) NOT NULL,
    principal      numeric(16,2),
    interest       numeric(16,2),
    paid           numeric(16,2) NOT NULL,
    status         text          NOT NULL CHECK (status IN ('upcoming', 'due', 'partially_paid', 'paid', 'overdue', 'cancelled')),
    fell_due       boolean       NOT NULL,
    was_overdue    boolean       NOT NULL,
    deadline       date,
    days_overdue   integer       NOT NULL,
    penalty        numeric(16,2) NOT NULL,
    penalty_through date,
    last_paid_on   date,
    PRIMARY KEY (contract_id, line_number)
);
-- The business-day process manager looks for contracts with open lines due by a day.
CREATE INDEX schedule_view_open_due_idx ON schedule_view (due_date)
    WHERE status IN ('upcoming', 'due', 'partially_paid', 'overdue');
CREATE INDEX schedule_view_overdue_idx ON schedule_view (contract_id) WHERE status = 'overdue';

-- What is owed, per contract.
CREATE TABLE contract_debt_view
(
    contract_id         uuid          NOT NULL PRIMARY KEY,
    company_id          uuid          NOT NULL,
    leasing_due         numeric(16,2) NOT NULL,
    overdue             numeric(16,2) NOT NULL,
    penalties_accrued   numeric(16,2) NOT NULL,
    penalties_paid      numeric(16,2) NOT NULL,
    penalties           numeric(16,2) NOT NULL,
    fines               numeric(16,2) NOT NULL,
    insurance           numeric(16,2) NOT NULL,
    credit              numeric(16,2) NOT NULL,
    total               numeric(16,2) NOT NULL,
    next_payment_date   date,
    next_payment_amount numeric(16,2),
    last_position       bigint        NOT NULL
);
CREATE INDEX contract_debt_view_company_idx ON contract_debt_view (company_id);

-- What is owed, per company: recomputed from contract_debt_view in the same statement batch, so a company's
-- totals always equal the sum of its contracts.
CREATE TABLE company_debt_view
(
    company_id          uuid          NOT NULL PRIMARY KEY,
    contracts           integer       NOT NULL,
    leasing_due         numeric(16,2) NOT NULL,
    overdue             numeric(16,2) NOT NULL,
    penalties           numeric(16,2) NOT NULL,
    fines               numeric(16,2) NOT NULL,
    insurance           numeric(16,2) NOT NULL,
    credit              numeric(16,2) NOT NULL,
    total               numeric(16,2) NOT NULL,
    next_payment_date   date,
    next_payment_amount numeric(16,2)
);

-- Payments received, one row per bank payment.
CREATE TABLE payments_view
(
    contract_id    uuid          NOT NULL,
    bank_reference text          NOT NULL,
    company_id     uuid          NOT NULL,
    paid_on        date          NOT NULL,
    amount         numeric(16,2) NOT NULL,
    purpose        text          NOT NULL,
    allocations    jsonb         NOT NULL,
    position       bigint        NOT NULL,
    recorded_at    timestamptz   NOT NULL,
    PRIMARY KEY (contract_id, bank_reference)
);

-- Traffic fines re-billed to lessees.
CREATE TABLE fines_view
(
    contract_id       uuid          NOT NULL,
    resolution_number text          NOT NULL,
    company_id        uuid          NOT NULL,
    issued_on         date          NOT NULL,
    amount            numeric(16,2) NOT NULL,
    paid              numeric(16,2) NOT NULL,
    vehicle           text          NOT NULL,
    description       text          NOT NULL,
    paid_on           date,
    PRIMARY KEY (contract_id, resolution_number),
    -- A resolution number (УИН) identifies one fine in the whole country: it is re-billed once. Mapped to a
    -- VALIDATION error on `resolutionNumber`.
    CONSTRAINT fines_view_resolution_number_key UNIQUE (resolution_number) DEFERRABLE INITIALLY IMMEDIATE
);

-- The current business day (one row), from BusinessDayStarted.
CREATE TABLE business_day_view
(
    id            boolean     NOT NULL PRIMARY KEY DEFAULT true CHECK (id),
    business_date date        NOT NULL,
    position      bigint      NOT NULL
);

-- Days the process manager `business-days` has closed (penalties accrued, lines marked) — its own table,
-- written in the same transaction as its checkpoint.
CREATE TABLE business_days_closed
(
    business_date date        NOT NULL PRIMARY KEY,
    contracts     integer     NOT NULL,
    closed_at     timestamptz NOT NULL DEFAULT now()
);
