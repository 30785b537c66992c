-- What a contract's redemption payment is (ContractConcluded v2): 'symbolic' (paid after regular lines that
-- repay the whole financed amount) or 'residual' (a residual value the lines amortise down to, paid with the
-- last line). Every contract concluded before this migration was computed as a residual value, which is
-- what the upcaster reads its event as; the default fills their rows, then goes.
ALTER TABLE contracts_view
    ADD COLUMN redemption_kind text NOT NULL DEFAULT 'residual'
        CHECK (redemption_kind IN ('symbolic', 'residual'));
ALTER TABLE contracts_view ALTER COLUMN redemption_kind DROP DEFAULT;

CREATE OR REPLACE VIEW analytics.contracts AS
SELECT contract_id, company_id, number, contract_date, status,
       subject_kind, subject_make, subject_model, subject_year,
       price, advance, advance_percent, term_months, annual_rate, first_due_date, schedule_kind, redemption,
       penalty_rate, penalty_base_includes_vat, penalty_payment_day_counts,
       activated_on, closed_on, next_payment_date, next_payment_amount, updated_at, redemption_kind
FROM public.contracts_view;
