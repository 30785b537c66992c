-- Issue 26: managers are accounts, staff notifications reach a company's manager first, and the company
-- talks with the lessor in a conversation.

-- A staff member's profile as clients see it when the staff member is their manager (the e-mail is the
-- login). Outside the event log like the rest of the account.
ALTER TABLE accounts
    ADD COLUMN display_name text,
    ADD COLUMN phone        text;

-- The manager's staff account (ManagerAssigned.account_id): their inbox gets the company's staff
-- notifications first.
-- manager_since: when that account became the manager (what was recorded before reached everyone).
ALTER TABLE companies_view
    ADD COLUMN manager_account_id uuid,
    ADD COLUMN manager_since      timestamptz;
CREATE INDEX companies_view_manager_idx ON companies_view (manager_account_id)
    WHERE manager_account_id IS NOT NULL;

-- Escalated copies name the notification they hand up (params.of); the routing process looks them up.
CREATE INDEX notifications_escalated_of_idx ON notifications ((params ->> 'of'))
    WHERE kind = 'notification_escalated';
-- The routing process looks at a week of staff notifications before its cutoff.
CREATE INDEX notifications_staff_recorded_idx ON notifications (recorded_at) WHERE audience = 'staff';

-- Threads: one per company (thread_id = the company's id) and one per request (thread_id = the request's
-- id, request_kind set). Built from Conversation.MessagePosted and the requests' comments, questions and
-- files.
CREATE TABLE conversation_threads
(
    thread_id       uuid        NOT NULL PRIMARY KEY,
    company_id      uuid        NOT NULL,
    request_id      uuid,
    request_kind    text,
    messages        int         NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    -- The global position of its last message (unread counts compare with the reader's mark).
    last_position   bigint      NOT NULL DEFAULT 0
);
CREATE INDEX conversation_threads_company_idx ON conversation_threads (company_id, last_position DESC);

CREATE TABLE conversation_messages
(
    message_id     uuid        NOT NULL PRIMARY KEY,
    thread_id      uuid        NOT NULL,
    company_id     uuid        NOT NULL,
    -- client | staff
    party          text        NOT NULL CHECK (party IN ('client', 'staff')),
    -- The writing account (None: a process).
    author         uuid,
    text           text        NOT NULL,
    -- [{sha256, name, contentType, size}]
    attachments    jsonb       NOT NULL DEFAULT '[]',
    posted_at      timestamptz NOT NULL,
    transaction_id xid8        NOT NULL,
    position       bigint      NOT NULL
);
CREATE INDEX conversation_messages_thread_idx ON conversation_messages (thread_id, position);
CREATE INDEX conversation_messages_position_idx ON conversation_messages (position);

-- How far each account has read each thread (a global position): not derived from events, like
-- notification_reads.
CREATE TABLE conversation_reads
(
    account_id   uuid   NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    thread_id    uuid   NOT NULL,
    read_through bigint NOT NULL,
    PRIMARY KEY (account_id, thread_id)
);

-- Files sent in a company's thread are the company's documents (downloadable by its people).
ALTER TABLE documents_view DROP CONSTRAINT documents_view_source_check;
ALTER TABLE documents_view ADD CONSTRAINT documents_view_source_check
    CHECK (source IN ('request_attachment', 'request_result', 'policy_form', 'insured_event', 'document', 'signature',
                      'conversation'));
