-- Room names are unique among public rooms only. Unique across private
-- rooms too, a refused name told an outsider that a private room of that
-- name exists. A private room may now share a name with any other room;
-- making it public again is refused while a public room has its name.
DROP INDEX rooms_name_key;
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name)) WHERE kind = 'room' AND visibility = 'public';
