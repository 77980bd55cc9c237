-- Rooms and memberships. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE rooms (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL,
    created_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name));

CREATE TABLE room_members (
    room_id   BIGINT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_idx ON room_members (user_id);
