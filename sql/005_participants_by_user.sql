-- 005_participants_by_user.sql — drop the index on meeting_participants
-- (user_id) alone (from the reference schema, 003).
--
-- Every statement of vcd names the meeting as well as the user, which the
-- unique index (meeting_id, user_id) answers exactly. The planner could still
-- take the user_id index for such a lookup, and a user who has been in many
-- meetings (a bot, a load test, a busy host) then costs a walk over all of
-- their rows on every admit. One index less also makes each join cheaper.

DROP INDEX idx_meeting_participants_user_id;
