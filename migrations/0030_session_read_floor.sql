-- Issue 27: read-your-writes across requests of one session. After a mutation, the session remembers the
-- log's head at that moment; its later reads from a replica wait until the replica shows that event (set only
-- when read replicas are configured).
ALTER TABLE sessions ADD COLUMN read_floor bigint;
