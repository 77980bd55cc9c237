-- The per-user room quota counts rooms by creator.
CREATE INDEX rooms_created_by_idx ON rooms (created_by);
