-- The notification mailer reads each batch's notifications by their place in the global order
-- (transaction_id, position, ordinal); without an index that was a scan of the whole table per batch
-- (45 ms at 40,000 notifications, growing with the table; issue 24's profile).
CREATE INDEX notifications_order_idx ON notifications (transaction_id, position, ordinal);
