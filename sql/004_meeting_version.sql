-- 004_meeting_version.sql — a version on each meeting row, raised by every
-- UPDATE of it (the trigger that already keeps updated_at).
--
-- A meeting actor keeps what its commands learn of the meeting between
-- commands, and several commands of one meeting may finish in any order:
-- the version says which of two views of the meeting is the newer, so the
-- actor never keeps an older one (actors/meetings.c, keep_or_forget). The
-- writes themselves check the columns their decisions depend on.

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
