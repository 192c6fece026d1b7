-- What a CRM integration made of a conversation: the lead or deal (and the contact it made
-- or found), and how far the conversation has been written into it. Each step is recorded as
-- soon as the CRM answers, so an event retried after a failure never makes a second lead.
CREATE TABLE crm_links (
    id BIGSERIAL PRIMARY KEY,
    integration_id BIGINT NOT NULL REFERENCES integrations(id),
    project_id BIGINT NOT NULL REFERENCES projects(id),
    conversation_id BIGINT NOT NULL REFERENCES conversations(id),
    -- "lead" or "deal".
    entity TEXT NOT NULL,
    entity_id BIGINT,
    contact_id BIGINT,
    url TEXT,
    -- The customer's message the entity was made with (later ones go to its timeline).
    first_message_id BIGINT,
    -- The last message a closing transcript covered.
    transcript_until BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX crm_links_conversation ON crm_links (conversation_id, integration_id);
