-- Names, avatars and presence status. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE profiles (
    user_id    BIGINT PRIMARY KEY,
    first_name TEXT   NOT NULL,
    last_name  TEXT   NOT NULL,
    avatar_id  TEXT,
    status     TEXT   NOT NULL DEFAULT 'offline',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Avatars live in the database so that every replica can serve them.
CREATE TABLE avatars (
    id           TEXT   PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    content_type TEXT   NOT NULL,
    data         BLOB   NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX avatars_user_idx ON avatars (user_id);
