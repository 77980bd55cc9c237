-- Messages that change: edits, tombstones, reactions, read positions,
-- mentions and full-text search.
--
-- Every edit, delete or reaction change of a room's message takes the
-- room's next change_seq (gap-free, like seq) and stamps the message with
-- it, so "what changed after change N" is one indexed range.
ALTER TABLE room_sequences ADD COLUMN last_change BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
-- Mentioned user ids, comma-separated (kept as written for display; the
-- mentions table is what counts).
ALTER TABLE messages ADD COLUMN mention_ids TEXT;
CREATE INDEX messages_changes ON messages (room_id, change_seq) WHERE change_seq > 0;

CREATE TABLE reactions (
    message_id BIGINT NOT NULL,
    emoji      TEXT   NOT NULL,
    user_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

CREATE TABLE read_marks (
    room_id       BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    last_read_seq BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE mentions (
    user_id    BIGINT NOT NULL,
    room_id    BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, seq)
);

-- Search: the text's English tsvector, kept by PostgreSQL itself on every
-- insert and update (a tombstone's empty content has none).
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);
