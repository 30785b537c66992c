-- Issue 25: analysts see what the accounting system brought — the accounting documents' periods and sums,
-- the book value, and each contract's share of a company-wide invoice. (The analysts' role is granted the
-- views by the default privileges of migration 0009.)
CREATE OR REPLACE VIEW analytics.documents AS
SELECT document_id, company_id, contract_id, request_id, kind, number, doc_date, size, issued_by, status,
       jsonb_array_length(signatures) AS signatures, issued_at, updated_at,
       external_id, period_from, period_to, amount, vat, formal_sha256 IS NOT NULL AS has_formal_xml
FROM public.exchange_documents_view;

CREATE OR REPLACE VIEW analytics.contracts AS
SELECT contract_id, company_id, number, contract_date, status,
       subject_kind, subject_make, subject_model, subject_year,
       price, advance, advance_percent, term_months, annual_rate, first_due_date, schedule_kind, redemption,
       penalty_rate, penalty_base_includes_vat, penalty_payment_day_counts,
       activated_on, closed_on, next_payment_date, next_payment_amount, updated_at, redemption_kind,
       book_value, book_value_as_of
FROM public.contracts_view;

CREATE VIEW analytics.invoice_shares AS
SELECT document_id, ordinal, contract_id, amount
FROM public.invoice_shares_view;
