-- Private rooms, roles and direct messages.
--
-- A room is public or private; a DM is a private room of kind 'dm' between
-- dm_low < dm_high (its two members), unique per pair so that concurrent
-- requests from either side find one room. DMs have no name, so room names
-- are unique among rooms only.
ALTER TABLE rooms ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
    CHECK (visibility IN ('public', 'private'));
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'room'
    CHECK (kind IN ('room', 'dm'));
ALTER TABLE rooms ADD COLUMN dm_low BIGINT;
ALTER TABLE rooms ADD COLUMN dm_high BIGINT;
CREATE UNIQUE INDEX rooms_dm_pair_key ON rooms (dm_low, dm_high) WHERE kind = 'dm';
DROP INDEX rooms_name_key;
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name)) WHERE kind = 'room';

-- Each member is the room's owner, an admin or a member.
ALTER TABLE room_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CHECK (role IN ('owner', 'admin', 'member'));

-- Every existing room's creator becomes its owner, rejoining it if they had
-- left: before roles, the creator could delete the room whether or not they
-- were still in it, and someone has to be able to now.
UPDATE room_members SET role = 'owner'
WHERE EXISTS (
    SELECT 1 FROM rooms r WHERE r.id = room_members.room_id AND r.created_by = room_members.user_id
);
INSERT INTO room_members (room_id, user_id, joined_at, role)
SELECT r.id, r.created_by, r.created_at, 'owner' FROM rooms r
WHERE NOT EXISTS (
    SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = r.created_by
);
