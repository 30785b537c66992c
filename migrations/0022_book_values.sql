-- Issue 25: the asset's book value as the lessor's accounting system last reported it (BookValueReported,
-- from the contracts file): the book-value certificate states it instead of the cabinet's estimate.
ALTER TABLE contracts_view
    ADD COLUMN book_value       numeric(18, 2),
    ADD COLUMN book_value_as_of date;
