-- Notifications, news, FAQ, and the terms of use as events.

-- Owned by the `notifications` projection (inline). Every row follows from one event: its id is derived from
-- the event's position and the row's ordinal among that event's notifications, so a rebuild gives the same
-- ids. company_id NULL: for every client (news for everyone, new terms of use).
CREATE TABLE notifications
(
    id             uuid        NOT NULL PRIMARY KEY,
    company_id     uuid,
    -- 'client': the company's CLIENT accounts; 'staff': the back office.
    audience       text        NOT NULL CHECK (audience IN ('client', 'staff')),
    kind           text        NOT NULL,
    title_ru       text        NOT NULL,
    text_ru        text        NOT NULL,
    title_en       text        NOT NULL,
    text_en        text        NOT NULL,
    -- The values the texts are made of (amounts in rubles as strings, dates, numbers).
    params         jsonb       NOT NULL,
    -- What it links to: contract, payment, policy, request, document, news, terms.
    entity_type    text        NOT NULL,
    entity_id      text        NOT NULL,
    -- The business day it arose on (NULL before the clock first started) and the event's recorded time.
    business_date  date,
    recorded_at    timestamptz NOT NULL,
    -- The source event's place in the global order, and this row's place among the event's notifications.
    transaction_id xid8        NOT NULL,
    position       bigint      NOT NULL,
    ordinal        integer     NOT NULL,
    UNIQUE (transaction_id, position, ordinal)
);
CREATE INDEX notifications_company_idx ON notifications (company_id, audience, transaction_id, position, ordinal);
CREATE INDEX notifications_entity_idx ON notifications (entity_type, entity_id);

-- What the projection keeps to derive reminders from business days (its own copies; it reads nothing else).
CREATE TABLE notification_contracts
(
    contract_id uuid NOT NULL PRIMARY KEY,
    company_id  uuid NOT NULL,
    number      text NOT NULL
);
-- Open schedule lines: the due-in-5-days reminder is sent once per line.
CREATE TABLE notification_lines
(
    contract_id uuid          NOT NULL,
    line        integer       NOT NULL,
    due_date    date          NOT NULL,
    outstanding numeric(18, 2) NOT NULL,
    reminded    boolean       NOT NULL DEFAULT false,
    PRIMARY KEY (contract_id, line)
);
CREATE INDEX notification_lines_due_idx ON notification_lines (due_date) WHERE NOT reminded;
CREATE TABLE notification_policies
(
    policy_id     uuid    NOT NULL PRIMARY KEY,
    company_id    uuid    NOT NULL,
    number        text    NOT NULL,
    kind          text    NOT NULL,
    ends_on       date    NOT NULL,
    expiring_sent boolean NOT NULL DEFAULT false,
    expired_sent  boolean NOT NULL DEFAULT false,
    cancelled     boolean NOT NULL DEFAULT false
);
CREATE TABLE notification_requests
(
    request_id uuid NOT NULL PRIMARY KEY,
    company_id uuid NOT NULL,
    kind       text NOT NULL
);
CREATE TABLE notification_business_day
(
    singleton     boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
    business_date date    NOT NULL
);

-- Account data, kept apart from what the events derive, so `projections rebuild notifications` never touches
-- them: the rebuilt rows have the same ids, and these rows still point at them.
CREATE TABLE notification_reads
(
    account_id      uuid        NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    notification_id uuid        NOT NULL,
    read_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (account_id, notification_id)
);
-- Only what an account changed; the defaults live in the code (docs/read-models.md lists them).
CREATE TABLE notification_preferences
(
    account_id uuid    NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    kind       text    NOT NULL,
    email      boolean NOT NULL,
    PRIMARY KEY (account_id, kind)
);

-- The notification mailer starts at the end of the log as it is when this migration runs: a database with
-- history does not mail what happened before the feature existed.
INSERT INTO projection_checkpoints (name, transaction_id, position)
SELECT 'notification-mail', transaction_id, position
FROM events
ORDER BY transaction_id DESC, position DESC
LIMIT 1
ON CONFLICT (name) DO NOTHING;

-- Owned by the `content` projection (inline).
CREATE TABLE news_view
(
    news_id      uuid        NOT NULL PRIMARY KEY,
    title        text        NOT NULL,
    text         text        NOT NULL,
    date         date        NOT NULL,
    -- Empty: for every client.
    companies    uuid[]      NOT NULL,
    published    boolean     NOT NULL,
    published_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    position     bigint      NOT NULL
);
CREATE INDEX news_view_date_idx ON news_view (date DESC, news_id DESC) WHERE published;
CREATE INDEX news_view_companies_idx ON news_view USING gin (companies);

CREATE TABLE faq_view
(
    entry_id   uuid        NOT NULL PRIMARY KEY,
    question   text        NOT NULL,
    answer     text        NOT NULL,
    section    text        NOT NULL,
    sort_order integer     NOT NULL,
    updated_at timestamptz NOT NULL,
    -- Full-text search in Russian over the question (weight A), the answer (B) and the section (C).
    search     tsvector    NOT NULL GENERATED ALWAYS AS (
        setweight(to_tsvector('russian', question), 'A') ||
        setweight(to_tsvector('russian', answer), 'B') ||
        setweight(to_tsvector('russian', section), 'C')) STORED
);
CREATE INDEX faq_view_search_idx ON faq_view USING gin (search);
CREATE INDEX faq_view_order_idx ON faq_view (section, sort_order, entry_id);
