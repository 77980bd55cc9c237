-- The idempotency key of a send is (room, sender, client_msg_id): the same
-- key reused in another room is another message, never a silent duplicate.
DROP INDEX messages_client_msg_id_key;
CREATE UNIQUE INDEX messages_client_msg_id_key ON messages (room_id, user_id, client_msg_id);
