-- Issue 25: one invoice covering all of a company's contracts. Each contract's share of it (DocumentIssued
-- info.covers), in the invoice's order: what the statement matcher splits a payment of it back into.
CREATE TABLE invoice_shares_view
(
    document_id uuid           NOT NULL,
    ordinal     integer        NOT NULL,
    contract_id uuid           NOT NULL,
    amount      numeric(18, 2) NOT NULL,
    PRIMARY KEY (document_id, ordinal)
);
CREATE INDEX invoice_shares_contract_idx ON invoice_shares_view (contract_id);
