-- 005_participant_indexes.sql — meeting_participants keeps two indexes:
-- its primary key and the unique (meeting_id, user_id). The two others of
-- the reference schema (003) go.
--
-- idx_meeting_participants_user_id (user_id): every statement of vcd names
-- the meeting as well as the user, which the unique index answers exactly.
-- The planner could still take the user_id index for such a lookup, and a
-- user who has been in many meetings (a bot, a load test, a busy host) then
-- cost a walk over all of their rows on every admit.
--
-- idx_meeting_participants_status (meeting_id, status): the lists and counts
-- by status read one meeting's rows, which the unique index finds by its
-- first column. Without an index on status, admitting, rejecting or kicking
-- changes no indexed column, so PostgreSQL can update the row in place (a
-- HOT update) instead of adding an entry to every index; and each join adds
-- one index entry less. A row changes status a few times in its life
-- (waiting, admitted, left), so pages keep a fifth free for those updates.

DROP INDEX idx_meeting_participants_user_id;
DROP INDEX idx_meeting_participants_status;
ALTER TABLE meeting_participants SET (fillfactor = 80);
