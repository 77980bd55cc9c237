-- Messages that change: edits, tombstones, reactions, read positions,
-- mentions and full-text search. See the PostgreSQL migration.
ALTER TABLE room_sequences ADD COLUMN last_change BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN deleted_at BIGINT;
ALTER TABLE messages ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
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

-- Search: an FTS5 index over messages.content (external content), kept in
-- step by triggers on insert, edit and delete.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content = 'messages', content_rowid = 'id', tokenize = 'porter unicode61'
);
INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
