-- Insurance policies, client requests, the documents the cabinet lists, and the stored files behind them.
-- Columns are documented in docs/read-models.md. Every read-model row carries its company id.

-- Policies are part of the `contracts` projection: re-billed premiums are the lessee's insurance debt, so
-- they live beside contract_debt_view and are rebuilt with it.
CREATE TABLE policies_view
(
    policy_id        uuid          NOT NULL PRIMARY KEY,
    contract_id      uuid          NOT NULL,
    company_id       uuid          NOT NULL,
    insurer          text          NOT NULL,
    kind             text          NOT NULL CHECK (kind IN ('osago', 'kasko', 'property', 'other')),
    number           text          NOT NULL,
    first_starts_on  date          NOT NULL,
    starts_on        date          NOT NULL,
    ends_on          date          NOT NULL,
    sum_insured      numeric(16,2) NOT NULL,
    premium          numeric(16,2) NOT NULL,
    premium_paid     numeric(16,2) NOT NULL,
    payer            text          NOT NULL CHECK (payer IN ('lessee', 'lessor')),
    -- active / expiring (ends within 30 days of the business day) / expired / cancelled; moves as business
    -- days start (BusinessDayStarted), so replay gives the same statuses.
    status           text          NOT NULL CHECK (status IN ('active', 'expiring', 'expired', 'cancelled')),
    cancelled_on     date,
    cancel_reason    text,
    form             jsonb,
    insured_events   integer       NOT NULL,
    issued_position  bigint        NOT NULL,
    last_position    bigint        NOT NULL,
    updated_at       timestamptz   NOT NULL
);
CREATE INDEX policies_view_company_idx ON policies_view (company_id, ends_on DESC, policy_id);
CREATE INDEX policies_view_contract_idx ON policies_view (contract_id);
CREATE INDEX policies_view_open_idx ON policies_view (ends_on) WHERE status IN ('active', 'expiring');

CREATE TABLE policy_installments_view
(
    policy_id    uuid          NOT NULL,
    number       integer       NOT NULL,
    contract_id  uuid          NOT NULL,
    company_id   uuid          NOT NULL,
    due_date     date          NOT NULL,
    amount       numeric(16,2) NOT NULL,
    paid         numeric(16,2) NOT NULL,
    -- The lessor pays the insurer and re-bills the lessee: once due, the unpaid part is insurance debt.
    rebilled     boolean       NOT NULL,
    -- The business day has reached the due date.
    fell_due     boolean       NOT NULL,
    cancelled    boolean       NOT NULL,
    last_paid_on date,
    PRIMARY KEY (policy_id, number)
);
CREATE INDEX policy_installments_view_contract_idx ON policy_installments_view (contract_id);
CREATE INDEX policy_installments_view_not_due_idx ON policy_installments_view (due_date) WHERE NOT fell_due;

CREATE TABLE insured_events_view
(
    policy_id     uuid        NOT NULL,
    event_id      uuid        NOT NULL,
    contract_id   uuid        NOT NULL,
    company_id    uuid        NOT NULL,
    occurred_on   date        NOT NULL,
    place         text        NOT NULL,
    description   text        NOT NULL,
    contact_phone text        NOT NULL,
    attachments   jsonb       NOT NULL,
    reported_at   timestamptz NOT NULL,
    PRIMARY KEY (policy_id, event_id)
);

-- The `requests` projection.
CREATE TABLE requests_view
(
    request_id        uuid        NOT NULL PRIMARY KEY,
    company_id        uuid        NOT NULL,
    contract_id       uuid,
    policy_id         uuid,
    kind              text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('submitted', 'in_review', 'needs_information', 'completed', 'rejected', 'withdrawn')),
    details           jsonb       NOT NULL,
    submitted_by      uuid        NOT NULL,
    submitted_on      date        NOT NULL,
    due_on            date        NOT NULL,
    -- The due date passed (by the business day) before the request was closed. Stays true once set: it
    -- records a missed service level.
    overdue           boolean     NOT NULL,
    question          text,
    note              text,
    result            jsonb,
    rejection_reason  text,
    withdrawal_reason text,
    effect            text        NOT NULL CHECK (effect IN ('none', 'pending', 'applied', 'failed')),
    effect_detail     text,
    comments          integer     NOT NULL,
    attachments       integer     NOT NULL,
    submitted_at      timestamptz NOT NULL,
    closed_at         timestamptz,
    updated_at        timestamptz NOT NULL,
    last_position     bigint      NOT NULL
);
CREATE INDEX requests_view_company_idx ON requests_view (company_id, submitted_at DESC, request_id);
CREATE INDEX requests_view_open_due_idx ON requests_view (due_on)
    WHERE status IN ('submitted', 'in_review', 'needs_information') AND NOT overdue;

-- One row per event of a request: who, when, what.
CREATE TABLE request_history_view
(
    request_id  uuid        NOT NULL,
    position    bigint      NOT NULL,
    company_id  uuid        NOT NULL,
    recorded_at timestamptz NOT NULL,
    actor       text        NOT NULL,
    party       text        NOT NULL CHECK (party IN ('client', 'staff', 'system')),
    change      text        NOT NULL,
    status      text        NOT NULL,
    text        text,
    file        jsonb,
    PRIMARY KEY (request_id, position)
);

-- The requests projection's own copy of the business day (a projection reads only its own tables).
CREATE TABLE requests_business_day
(
    id            boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (id),
    business_date date    NOT NULL
);

-- The `documents` projection: every file the cabinet shows a company, with where it came from.
CREATE TABLE documents_view
(
    owner_id     uuid        NOT NULL,
    source       text        NOT NULL CHECK (source IN ('request_attachment', 'request_result', 'policy_form', 'insured_event')),
    sha256       text        NOT NULL,
    company_id   uuid        NOT NULL,
    name         text        NOT NULL,
    content_type text        NOT NULL,
    size         bigint      NOT NULL,
    party        text        NOT NULL CHECK (party IN ('client', 'staff')),
    added_at     timestamptz NOT NULL,
    position     bigint      NOT NULL,
    PRIMARY KEY (owner_id, source, sha256)
);
CREATE INDEX documents_view_sha256_idx ON documents_view (sha256, company_id);
CREATE INDEX documents_view_company_idx ON documents_view (company_id, added_at DESC);

-- The company of each policy and request the documents projection has seen (their later events do not
-- repeat it).
CREATE TABLE documents_owners
(
    owner_id   uuid NOT NULL PRIMARY KEY,
    company_id uuid NOT NULL
);

-- File contents, outside the event log: events reference a file by its SHA-256. Stored once per content.
-- Not a projection (it is the source of the bytes); never rebuilt.
CREATE TABLE stored_files
(
    sha256       text        NOT NULL PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text        NOT NULL,
    size         bigint      NOT NULL CHECK (size > 0),
    content      bytea       NOT NULL,
    stored_by    text        NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now()
);
