-- 003_meetings.sql — meetings and their participants (the videocall.rs
-- meeting backend's tables, videocall-rs-contract.md §6.1–6.2), plus what
-- vcd adds: who may admit (admission).
--
-- A room id names at most one live meeting: soft-deleted meetings free it
-- (partial unique index). States and statuses are the reference's; the
-- response-only pseudo-status waiting_for_meeting is never stored.

-- Milliseconds since the epoch, as the API answers times (NULL stays NULL).
-- STABLE like extract() itself, so that PostgreSQL inlines it.
CREATE FUNCTION vcd_ms(t timestamptz) RETURNS bigint LANGUAGE sql STABLE AS
	$$ SELECT (extract(epoch FROM t) * 1000)::bigint $$;

CREATE FUNCTION vcd_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at = now();
	RETURN NEW;
END $$;

CREATE TABLE meetings (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	room_id varchar(255) NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	ended_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	deleted_at timestamptz,
	creator_id varchar(255),
	password_hash varchar(255),
	state varchar(50) NOT NULL DEFAULT 'idle'
		CONSTRAINT chk_meeting_state CHECK (state IN ('idle', 'active', 'ended')),
	attendees jsonb NOT NULL DEFAULT '[]'
		CONSTRAINT chk_attendees_max_100 CHECK (jsonb_array_length(attendees) <= 100),
	host_display_name varchar(255),
	waiting_room_enabled boolean NOT NULL DEFAULT true,
	admission varchar(20) NOT NULL DEFAULT 'host'
		CONSTRAINT chk_admission CHECK (admission IN ('host', 'participants'))
);
CREATE UNIQUE INDEX idx_meetings_room_id_unique_active ON meetings (room_id)
	WHERE deleted_at IS NULL;
CREATE INDEX idx_meetings_creator_id ON meetings (creator_id);
CREATE TRIGGER update_meetings_updated_at BEFORE UPDATE ON meetings
	FOR EACH ROW EXECUTE FUNCTION vcd_touch_updated_at();

CREATE TABLE meeting_participants (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	meeting_id bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	user_id varchar(255) NOT NULL,
	status varchar(50) NOT NULL DEFAULT 'waiting'
		CONSTRAINT chk_participant_status
		CHECK (status IN ('waiting', 'admitted', 'rejected', 'left')),
	is_host boolean NOT NULL DEFAULT false,
	is_required boolean NOT NULL DEFAULT false,
	joined_at timestamptz NOT NULL DEFAULT now(),
	admitted_at timestamptz,
	left_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	display_name varchar(255),
	CONSTRAINT uq_meeting_participant_user UNIQUE (meeting_id, user_id)
);
CREATE INDEX idx_meeting_participants_user_id ON meeting_participants (user_id);
CREATE INDEX idx_meeting_participants_status ON meeting_participants (meeting_id, status);
CREATE TRIGGER update_meeting_participants_updated_at BEFORE UPDATE ON meeting_participants
	FOR EACH ROW EXECUTE FUNCTION vcd_touch_updated_at();

-- PATCH of a meeting, in one transaction. The meeting row is updated first:
-- that waits for any join still holding it (share lock). The waiting rows are
-- admitted by a second statement, which in READ COMMITTED takes a new
-- snapshot, so it also sees the rows those joins committed meanwhile — a
-- single statement would miss them and leave a guest waiting with the
-- waiting room off. Returns how many were admitted.
CREATE FUNCTION vcd_meeting_update(p_id bigint, p_waiting boolean, p_admission text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint := 0;
BEGIN
	UPDATE meetings
	SET waiting_room_enabled = COALESCE(p_waiting, waiting_room_enabled),
	    admission = COALESCE(p_admission, admission)
	WHERE id = p_id;
	IF p_waiting IS FALSE THEN
		UPDATE meeting_participants SET status = 'admitted', admitted_at = now()
		WHERE meeting_id = p_id AND status = 'waiting';
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	RETURN n;
END $$;
