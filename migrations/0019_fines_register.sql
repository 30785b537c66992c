-- Issue 25: traffic fines imported from the register, with the discount for paying early (ч. 1.3 ст. 32.2
-- КоАП РФ) and the lessor's fee for re-billing.

-- A fine as re-billed: its article, its discount while it lasts, the fee, and what is owed for it in all
-- (`due`, before payments). Fines registered before this migration had none of these: what is owed is their
-- amount, exactly what the events say (TrafficFineRegistered version 1 reads as a fine without discount or fee).
ALTER TABLE fines_view
    ADD COLUMN article           text,
    ADD COLUMN discounted_amount numeric(16,2),
    ADD COLUMN discount_until    date,
    ADD COLUMN discount_expired  boolean       NOT NULL DEFAULT false,
    ADD COLUMN fee               numeric(16,2) NOT NULL DEFAULT 0,
    ADD COLUMN due               numeric(16,2);
UPDATE fines_view SET due = amount;
ALTER TABLE fines_view ALTER COLUMN due SET NOT NULL;

-- The register's vehicles are matched by VIN and by plate. A plate is compared by its key: no spaces or
-- dashes, upper case, the Cyrillic letters of a Russian plate as the Latin ones they look like (the same as
-- `formats::fines::plate_key`; both cases are translated, as `upper` leaves Cyrillic alone in the C locale).
CREATE FUNCTION plate_key(plate text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT translate(upper(regexp_replace(plate, '[[:space:]-]', '', 'g')),
                     'АВЕКМНОРСТУХавекмнорстух', 'ABEKMHOPCTYXABEKMHOPCTYX')
$$;
CREATE INDEX contracts_view_vin_idx ON contracts_view (upper(vin)) WHERE vin IS NOT NULL;
CREATE INDEX contracts_view_plate_idx ON contracts_view (plate_key(registration_plate))
    WHERE registration_plate IS NOT NULL;

DROP VIEW analytics.fines;
CREATE VIEW analytics.fines AS
SELECT contract_id, resolution_number, company_id, issued_on, amount, paid, due - paid AS outstanding, paid_on,
       article, discounted_amount, discount_until, discount_expired, fee, due
FROM public.fines_view;
-- (The analysts' role is granted it by the default privileges of migration 0009.)

-- The register's and the accounting system's contracts' imports are reported beside the statements'; a
-- contracts file counts the contracts it changed.
ALTER TABLE imports DROP CONSTRAINT imports_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_kind_check
    CHECK (kind IN ('bank_statement', 'fines_register', 'contracts'));
ALTER TABLE imports ADD COLUMN changed integer NOT NULL DEFAULT 0;

-- The close of a business day finds the fines whose discount ran out unpaid.
CREATE INDEX fines_view_discount_idx ON fines_view (discount_until)
    WHERE discount_until IS NOT NULL AND NOT discount_expired;
