-- 010_rooms.sql — access levels, room configuration and roles (issue 9,
-- doc/external.md "Data"; La Suite Meet's Room, RoomAccessLevel and
-- ResourceAccess, shared/reference/meet-toju-rocketchat-livekit.md §A.8).
--
-- access_level NULL is the videocall.rs behaviour: the waiting room flag
-- alone decides who waits. configuration is Meet's RoomConfiguration
-- (checked by vcd before it is written). external_id is the external API's
-- room id. embed_provider names the embed provider a meeting enables.
ALTER TABLE meetings
	ADD COLUMN access_level text
		CONSTRAINT chk_access_level CHECK (access_level IN ('public', 'trusted', 'restricted')),
	ADD COLUMN configuration jsonb NOT NULL DEFAULT '{}'
		CONSTRAINT chk_configuration CHECK (jsonb_typeof(configuration) = 'object'),
	ADD COLUMN application_id uuid REFERENCES applications (id) ON DELETE SET NULL,
	ADD COLUMN external_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
	ADD COLUMN embed_provider text
		CONSTRAINT chk_embed_provider CHECK (embed_provider ~ '^[a-z0-9_-]{1,32}$');

-- Roles on a meeting besides its owner (the creator, never a row here).
CREATE TABLE meeting_roles (
	meeting_id bigint NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	user_id varchar(255) NOT NULL,
	role text NOT NULL CONSTRAINT chk_meeting_role CHECK (role IN ('administrator', 'member')),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (meeting_id, user_id)
);
-- The external API lists the meetings a user has a role on.
CREATE INDEX meeting_roles_user ON meeting_roles (user_id);

-- PATCH /api/v1/meetings/{id} and the external API's update: the fields of
-- vcd_meeting_update plus these. A NULL parameter leaves the column as it is;
-- p_set_level / p_set_embed say the level / provider is set (to NULL too).
CREATE FUNCTION vcd_meeting_update(p_id bigint, p_waiting boolean, p_admission text,
	p_set_level boolean, p_level text, p_configuration jsonb,
	p_set_embed boolean, p_embed text)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	UPDATE meetings
	SET access_level = CASE WHEN p_set_level THEN p_level ELSE access_level END,
	    configuration = COALESCE(p_configuration, configuration),
	    embed_provider = CASE WHEN p_set_embed THEN p_embed ELSE embed_provider END
	WHERE id = p_id AND (p_set_level OR p_configuration IS NOT NULL OR p_set_embed);
	RETURN vcd_meeting_update(p_id, p_waiting, p_admission);
END $$;
