-- 004_meeting_version.sql — a version on each meeting row, raised by every
-- UPDATE of it (the trigger that already keeps updated_at).
--
-- A meeting actor may decide a command from what an earlier command told it
-- instead of reading the meeting again; its conditional write then applies
-- only WHERE the version is still the one it knows, so a change made by
-- another node in between (PATCH, end, delete, activation) makes the write
-- match nothing and the actor reads and decides again (doc/meetings.md).

ALTER TABLE meetings ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION vcd_meeting_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at = now();
	NEW.version = OLD.version + 1;
	RETURN NEW;
END $$;

DROP TRIGGER update_meetings_updated_at ON meetings;
CREATE TRIGGER update_meetings_touch BEFORE UPDATE ON meetings
	FOR EACH ROW EXECUTE FUNCTION vcd_meeting_touch();
