-- Issue 26: the lessor's staff are invited by mail too. A staff invitation names no company and offers a
-- staff role (MANAGER, ACCOUNTANT, AUDITOR, ADMIN); a company's invitation offers a role in that company.
ALTER TABLE invitations ALTER COLUMN company_id DROP NOT NULL;
ALTER TABLE invitations DROP CONSTRAINT invitations_role_check;
ALTER TABLE invitations
    ADD CONSTRAINT invitations_role_check CHECK (
        (company_id IS NOT NULL AND role IN ('director', 'accountant', 'viewer'))
        OR (company_id IS NULL AND role IN ('MANAGER', 'ACCOUNTANT', 'AUDITOR', 'ADMIN')));
-- One open staff invitation per address (the company index leaves NULL companies out).
CREATE UNIQUE INDEX invitations_open_staff_idx ON invitations (email)
    WHERE company_id IS NULL AND accepted_at IS NULL AND revoked_at IS NULL;
