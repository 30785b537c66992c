-- Issue 26: a request that commits the company records the power of attorney (МЧД number) its representative
-- filed it under (RequestSubmitted.power_of_attorney); null for a director, staff, or a kind that commits
-- nothing, and for requests filed before.
ALTER TABLE requests_view ADD COLUMN power_of_attorney uuid;
