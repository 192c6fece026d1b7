-- Round-robin gives the next conversation to the member whose turn came longest ago: each
-- conversation handed out in a project takes the next turn number (a time would tie when
-- one transaction hands out several).
ALTER TABLE memberships ADD COLUMN assigned_turn BIGINT;

-- The queue distribution hands out: open conversations nobody holds, per channel, the
-- earliest first. Small (assigned and closed ones leave it), and keyed by what a message
-- does not change, so a customer writing into a waiting conversation does not move it.
CREATE INDEX conversations_waiting ON conversations (channel_id, id)
    WHERE closed_at IS NULL AND assignee_id IS NULL;
