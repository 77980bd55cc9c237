-- Messages with a gap-free per-room sequence. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE room_sequences (
    room_id  BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE messages (
    id            BIGSERIAL PRIMARY KEY,
    room_id       BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    content       TEXT   NOT NULL,
    client_msg_id TEXT,
    created_at    BIGINT NOT NULL,
    UNIQUE (room_id, seq)
);
CREATE UNIQUE INDEX messages_client_msg_id_key ON messages (user_id, client_msg_id);
