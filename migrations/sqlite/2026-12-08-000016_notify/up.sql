-- Which notifications each member gets under the bell (their profile's choice): a new
-- conversation in their teams, one given to them, a customer's comment on their request,
-- an @mention in a note, the unanswered alert.
ALTER TABLE users ADD COLUMN notify TEXT NOT NULL DEFAULT 'team,assigned,comment,mention,unanswered';
