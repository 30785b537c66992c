-- The key that signs short-lived download links (GET /documents/{sha256}?account=…&expires=…&signature=…),
-- so that a browser can open a file from an <a href> or <img src> without the bearer header. One random key
-- per installation, shared by every node through the database; replace it (UPDATE … SET key = …) to
-- invalidate every link handed out.
CREATE TABLE url_signing_key
(
    id         int         NOT NULL PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    key        bytea       NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Two version-4 UUIDs: 244 random bits from the server's strong random source.
INSERT INTO url_signing_key (key)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
