-- A session (refresh-token family) has an absolute lifetime, counted from
-- its first token, however often it is refreshed.
ALTER TABLE refresh_tokens ADD COLUMN family_created_at BIGINT NOT NULL DEFAULT 0;
UPDATE refresh_tokens SET family_created_at = (
    SELECT MIN(r.created_at) FROM refresh_tokens r WHERE r.family_id = refresh_tokens.family_id
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
