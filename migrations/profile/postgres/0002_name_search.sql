-- People search matches a prefix of the first, last or full name,
-- case-insensitively (SearchProfiles): pattern-ops indexes serve LIKE 'abc%'.
CREATE INDEX profiles_first_name_prefix_idx ON profiles (lower(first_name) text_pattern_ops);
CREATE INDEX profiles_last_name_prefix_idx ON profiles (lower(last_name) text_pattern_ops);
CREATE INDEX profiles_full_name_prefix_idx ON profiles (lower(first_name || ' ' || last_name) text_pattern_ops);
