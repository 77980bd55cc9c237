-- People search matches a prefix of the first, last or full name,
-- case-insensitively (SearchProfiles). SQLite scans; the embedded setup is
-- small. This keeps the two backends' migration histories in step.
SELECT 1;
