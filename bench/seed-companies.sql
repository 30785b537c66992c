-- Seeds the event log with :companies companies of :events events each (one CompanyRegistered, then
-- CompanyRequisitesChanged), straight into `events`, for measuring replay:
--   psql "$DATABASE_URL" -v companies=10000 -v events=100 -f bench/seed-companies.sql
--   time psql "$DATABASE_URL" -c "COPY (SELECT * FROM events ORDER BY transaction_id, position) TO STDOUT" >/dev/null
--   time cabinet --database-url "$DATABASE_URL" projections rebuild
-- The read model is left stale on purpose: run `projections rebuild` (then `verify`) after seeding.
-- Like every append, the transaction registers as an appender first (ADR 0014).
BEGIN;
SELECT pg_advisory_xact_lock_shared(3243, 1), pg_current_xact_id();
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT 'Company', md5('bench-' || c)::uuid::text, s,
       CASE WHEN s = 1 THEN 'CompanyRegistered' ELSE 'CompanyRequisitesChanged' END,
       CASE WHEN s = 1 THEN '2' ELSE '1' END,
       CASE WHEN s = 1 THEN jsonb_build_object('CompanyRegistered', jsonb_build_object(
               'company_id', md5('bench-' || c)::uuid, 'kind', 'LEGAL_ENTITY', 'inn', '7712345671',
               'kpp', lpad(c::text, 9, '0'), 'ogrn', '1127746000018', 'full_name', 'ООО «Бенч ' || c || '»',
               'short_name', 'Бенч ' || c, 'legal_address', 'Москва', 'postal_address', 'Москва',
               'bank', jsonb_build_object('bank_name', 'ПАО Сбербанк', 'bik', '044525225',
                   'correspondent_account', '30101810400000000225', 'settlement_account', '40702810200000000001'),
               'contact_email', 'b' || c || '@example.ru', 'contact_phone', '+74951234567'))
            ELSE jsonb_build_object('CompanyRequisitesChanged', jsonb_build_object(
               'kpp', lpad(c::text, 9, '0'), 'full_name', 'ООО «Бенч ' || c || '»', 'short_name', 'Бенч ' || c || ' v' || s,
               'legal_address', 'Москва', 'postal_address', 'Москва, офис ' || s,
               'bank', jsonb_build_object('bank_name', 'ПАО Сбербанк', 'bik', '044525225',
                   'correspondent_account', '30101810400000000225', 'settlement_account', '40702810200000000001'),
               'contact_email', 'b' || c || '@example.ru', 'contact_phone', '+74951234567'))
       END,
       '{"actor": "system:bench"}'::jsonb
FROM generate_series(1, :companies) c, generate_series(1, :events) s
ORDER BY c, s;
COMMIT;
