-- Auditors and analysts (issue 9): mails linked to the events that caused them, the company of every
-- aggregate, and the `analytics` schema — the documented, personal-data-free surface of the read models — with
-- the read-only role `cabinet_analyst`. docs/read-models.md documents every view and column.

-- A mail's place in the story that caused it: the correlation id of the causing events and, when one event
-- caused it, that event's position. NULL for mails no event caused (sign-in codes, password resets).
ALTER TABLE outbox ADD COLUMN correlation_id text;
ALTER TABLE outbox ADD COLUMN caused_by bigint;
CREATE INDEX outbox_correlation_idx ON outbox (correlation_id) WHERE correlation_id IS NOT NULL;

-- The company each aggregate belongs to, from the read models (`events(filter: {companyId})`,
-- `cabinet events export --company`). Aggregates of no company (the business clock, news, terms) are absent.
CREATE VIEW aggregate_companies (aggregate_type, aggregate_id, company_id) AS
SELECT 'Company', company_id::text, company_id FROM companies_view
UNION ALL
SELECT 'Contract', contract_id::text, company_id FROM contracts_view
UNION ALL
SELECT 'Policy', policy_id::text, company_id FROM policies_view
UNION ALL
SELECT 'ClientRequest', request_id::text, company_id FROM requests_view
UNION ALL
SELECT 'Document', document_id::text, company_id FROM exchange_documents_view
UNION ALL
SELECT 'EdoConnection', company_id::text, company_id FROM edo_connections_view;

-- The analysts' schema. Views over the read models with the columns analysts need and without personal data
-- (contact persons, phones, e-mails, signer names, free texts a client typed, an ИП's name and ИНН). Money is
-- in rubles, numeric(16,2). The views read the live tables: always current, rebuilt with them (a rebuild
-- recreates them, with their grants, in the same transaction).
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS 'Read models for analysts: documented in docs/read-models.md; no personal data.';

CREATE VIEW analytics.companies AS
SELECT company_id,
       kind,
       -- A legal entity's data is not personal data; an ИП's name and ИНН are (152-ФЗ).
       CASE WHEN kind = 'LEGAL_ENTITY' THEN inn END        AS inn,
       kpp,
       CASE WHEN kind = 'LEGAL_ENTITY' THEN ogrn END       AS ogrn,
       CASE WHEN kind = 'LEGAL_ENTITY' THEN short_name END AS short_name,
       CASE WHEN kind = 'LEGAL_ENTITY' THEN full_name END  AS full_name,
       manager_name IS NOT NULL                            AS has_manager,
       registered_at,
       updated_at
FROM public.companies_view;

CREATE VIEW analytics.contracts AS
SELECT contract_id, company_id, number, contract_date, status,
       subject_kind, subject_make, subject_model, subject_year,
       price, advance, advance_percent, term_months, annual_rate, first_due_date, schedule_kind, redemption,
       penalty_rate, penalty_base_includes_vat, penalty_payment_day_counts,
       activated_on, closed_on, next_payment_date, next_payment_amount, updated_at
FROM public.contracts_view;

CREATE VIEW analytics.schedule_lines AS
SELECT contract_id, line_number, company_id, kind, due_date, amount, vat_rate, vat_amount, principal, interest,
       paid, amount - paid AS outstanding, status, fell_due, was_overdue, deadline, days_overdue, penalty,
       penalty_through, last_paid_on
FROM public.schedule_view;

CREATE VIEW analytics.contract_debts AS
SELECT contract_id, company_id, leasing_due, overdue, penalties_accrued, penalties_paid, penalties, fines,
       insurance, credit, total, next_payment_date, next_payment_amount
FROM public.contract_debt_view;

CREATE VIEW analytics.company_debts AS
SELECT company_id, contracts, leasing_due, overdue, penalties, fines, insurance, credit, total,
       next_payment_date, next_payment_amount
FROM public.company_debt_view;

CREATE VIEW analytics.payments AS
SELECT contract_id, bank_reference, company_id, paid_on, amount, purpose, allocations, recorded_at
FROM public.payments_view;

CREATE VIEW analytics.fines AS
SELECT contract_id, resolution_number, company_id, issued_on, amount, paid, amount - paid AS outstanding, paid_on
FROM public.fines_view;

CREATE VIEW analytics.business_day AS
SELECT business_date FROM public.business_day_view;

CREATE VIEW analytics.policies AS
SELECT policy_id, contract_id, company_id, insurer, kind, number, first_starts_on, starts_on, ends_on,
       sum_insured, premium, premium_paid, payer, status, cancelled_on, insured_events, updated_at
FROM public.policies_view;

CREATE VIEW analytics.policy_installments AS
SELECT policy_id, number, contract_id, company_id, due_date, amount, paid, rebilled, fell_due, cancelled,
       last_paid_on
FROM public.policy_installments_view;

CREATE VIEW analytics.insured_events AS
SELECT policy_id, event_id, contract_id, company_id, occurred_on, reported_at
FROM public.insured_events_view;

CREATE VIEW analytics.requests AS
SELECT request_id, company_id, contract_id, policy_id, kind, status, submitted_on, due_on, overdue, effect,
       comments, attachments, submitted_at, closed_at, updated_at
FROM public.requests_view;

CREATE VIEW analytics.request_history AS
SELECT request_id, position, company_id, recorded_at, party, change, status
FROM public.request_history_view;

CREATE VIEW analytics.documents AS
SELECT document_id, company_id, contract_id, request_id, kind, number, doc_date, size, issued_by, status,
       jsonb_array_length(signatures) AS signatures, issued_at, updated_at
FROM public.exchange_documents_view;

CREATE VIEW analytics.edo_connections AS
SELECT company_id, status, operator_code, offer_version, updated_at
FROM public.edo_connections_view;

CREATE VIEW analytics.notifications AS
SELECT id, company_id, audience, kind, entity_type, business_date, recorded_at
FROM public.notifications;

-- The questions analysts ask.

-- Overdue money per company by how long it is overdue (days past the line's payment deadline, as of the
-- last business day). Rubles with VAT: what is still owed on overdue lines.
CREATE VIEW analytics.overdue_aging AS
SELECT company_id,
       count(*)                                                            AS lines,
       count(DISTINCT contract_id)                                         AS contracts,
       coalesce(sum(amount - paid) FILTER (WHERE days_overdue <= 30), 0)   AS days_1_30,
       coalesce(sum(amount - paid) FILTER (WHERE days_overdue BETWEEN 31 AND 60), 0) AS days_31_60,
       coalesce(sum(amount - paid) FILTER (WHERE days_overdue BETWEEN 61 AND 90), 0) AS days_61_90,
       coalesce(sum(amount - paid) FILTER (WHERE days_overdue > 90), 0)    AS days_over_90,
       sum(amount - paid)                                                  AS total,
       max(days_overdue)                                                   AS oldest_days
FROM public.schedule_view
WHERE status = 'overdue'
GROUP BY company_id;

-- Money received per calendar month of the payment date, and what it paid (rubles as received: leasing
-- payments with VAT, penalties and fines without).
CREATE VIEW analytics.payments_by_month AS
SELECT date_trunc('month', p.paid_on)::date AS month,
       count(*)                     AS payments,
       count(DISTINCT p.company_id)  AS companies,
       count(DISTINCT p.contract_id) AS contracts,
       sum(p.amount)                AS amount,
       sum(a.leasing)               AS leasing,
       sum(a.penalties)             AS penalties,
       sum(a.fines)                 AS fines,
       sum(a.insurance)             AS insurance,
       sum(a.credit)                AS credit
FROM public.payments_view p
CROSS JOIN LATERAL (
    SELECT coalesce(sum((e ->> 'amount')::numeric) FILTER (WHERE e -> 'target' ->> 'kind' = 'line'), 0)      AS leasing,
           coalesce(sum((e ->> 'amount')::numeric) FILTER (WHERE e -> 'target' ->> 'kind' = 'penalties'), 0) AS penalties,
           coalesce(sum((e ->> 'amount')::numeric) FILTER (WHERE e -> 'target' ->> 'kind' = 'fine'), 0)      AS fines,
           coalesce(sum((e ->> 'amount')::numeric) FILTER (WHERE e -> 'target' ->> 'kind' = 'insurance'), 0) AS insurance,
           coalesce(sum((e ->> 'amount')::numeric) FILTER (WHERE e -> 'target' ->> 'kind' = 'credit'), 0)    AS credit
    FROM jsonb_array_elements(p.allocations) e
) a
GROUP BY 1;

-- Penalties per company: accrued, paid and still owed (rubles; penalties carry no VAT).
CREATE VIEW analytics.penalties_by_company AS
SELECT d.company_id,
       c.short_name,
       count(*) FILTER (WHERE d.penalties_accrued <> 0) AS contracts,
       sum(d.penalties_accrued)                         AS accrued,
       sum(d.penalties_paid)                            AS paid,
       sum(d.penalties)                                 AS outstanding
FROM public.contract_debt_view d
LEFT JOIN analytics.companies c USING (company_id)
GROUP BY d.company_id, c.short_name
HAVING sum(d.penalties_accrued) <> 0;

-- Requests per kind: how many, where they are, and the time from submission to completion (completed ones;
-- days as fractions, from the recorded times).
CREATE VIEW analytics.requests_by_kind AS
SELECT kind,
       count(*)                                                       AS submitted,
       count(*) FILTER (WHERE status IN ('submitted', 'in_review', 'needs_information')) AS open,
       count(*) FILTER (WHERE status = 'completed')                   AS completed,
       count(*) FILTER (WHERE status = 'rejected')                    AS rejected,
       count(*) FILTER (WHERE status = 'withdrawn')                   AS withdrawn,
       count(*) FILTER (WHERE overdue)                                AS overdue,
       round((avg(extract(epoch FROM closed_at - submitted_at))
              FILTER (WHERE status = 'completed') / 86400)::numeric, 2) AS avg_days_to_complete,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - submitted_at))
              FILTER (WHERE status = 'completed') / 86400)::numeric, 2) AS median_days_to_complete,
       round((max(extract(epoch FROM closed_at - submitted_at))
              FILTER (WHERE status = 'completed') / 86400)::numeric, 2) AS max_days_to_complete
FROM public.requests_view
GROUP BY kind;

-- Policies whose current period ends in the calendar month after the business day's month (not cancelled).
CREATE VIEW analytics.policies_expiring_next_month AS
SELECT p.policy_id, p.company_id, p.contract_id, p.insurer, p.kind, p.number, p.ends_on, p.payer,
       p.ends_on - d.business_date AS days_left
FROM public.policies_view p
CROSS JOIN public.business_day_view d
WHERE p.status <> 'cancelled'
  AND p.ends_on >= (date_trunc('month', d.business_date) + interval '1 month')::date
  AND p.ends_on < (date_trunc('month', d.business_date) + interval '2 months')::date;

-- The read-only role. Roles are cluster-wide: created once, granted in every database that migrates. A
-- migrating user without CREATEROLE leaves it to a DBA (`CREATE ROLE cabinet_analyst NOLOGIN`, then
-- `cabinet analysts grant --role LOGIN`, which also applies the grants below).
DO
$$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cabinet_analyst') THEN
        BEGIN
            CREATE ROLE cabinet_analyst NOLOGIN;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE WARNING 'role cabinet_analyst not created (no CREATEROLE): see docs/read-models.md';
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- created concurrently by another database's migration
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cabinet_analyst') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA analytics TO cabinet_analyst';
        EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO cabinet_analyst';
        EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO cabinet_analyst';
    END IF;
END
$$;

-- Auditors filter the log by actor (`events(filter: {actor})`).
CREATE INDEX events_actor_idx ON events ((metadata ->> 'actor'), position);
