-- Issue 26: the lessor's contacts page (offices and support channels), as staff publish it
-- (ContactsPublished on the one `Contacts` stream). One row: the page in force; no row before the first
-- publication. Offices and channels are kept as published, in their order (JSON arrays of objects:
-- offices {name, city, address, phone, email, hours}; channels {kind, value, purpose, hours}).
CREATE TABLE contacts_view
(
    id           int         NOT NULL PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    offices      jsonb       NOT NULL,
    channels     jsonb       NOT NULL,
    published_at timestamptz NOT NULL,
    position     bigint      NOT NULL
);
