-- Routing of new conversations: the team a conversation enters, who it is offered or assigned to, and why.

-- The team new conversations enter unless Plinx names another (at most one per tenant), and what portfolio
-- distribution does when every owner is away.
ALTER TABLE teams ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN owners_away text NOT NULL DEFAULT 'wait' CHECK (owners_away IN ('wait', 'overflow'));
CREATE UNIQUE INDEX teams_default_key ON teams (tenant_id) WHERE is_default = 1;

-- The round robin: each assignment stamps the member with the team's next turn, and the member whose last
-- turn is the oldest goes next.
ALTER TABLE team_members ADD COLUMN last_turn INTEGER NOT NULL DEFAULT 0;
CREATE INDEX team_members_turn_idx ON team_members (tenant_id, team_id, last_turn, user_id);

ALTER TABLE conversations ADD COLUMN team_id TEXT;
ALTER TABLE conversations ADD COLUMN routing text
    CHECK (routing IN ('offered', 'queued', 'assigned', 'unrouted', 'abandoned'));
ALTER TABLE conversations ADD COLUMN overflow_at TEXT;
ALTER TABLE conversations ADD COLUMN assigned_at TEXT;
CREATE INDEX conversations_overflow_idx ON conversations (overflow_at) WHERE routing = 'offered';
CREATE INDEX conversations_queued_idx ON conversations (tenant_id, team_id, id) WHERE routing = 'queued';
CREATE INDEX conversations_assigned_idx ON conversations (tenant_id, assigned_to, id) WHERE assigned_to IS NOT NULL;

-- The waiting lists: which owners an offered conversation is waiting for.
CREATE TABLE conversation_offers (
    tenant_id       TEXT        NOT NULL,
    conversation_id TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    offered_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id, user_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_offers_user_idx ON conversation_offers (tenant_id, user_id, conversation_id);

-- Every decision, with the agent, team or portfolio it names and why it was made.
CREATE TABLE routing_decisions (
    tenant_id       TEXT        NOT NULL,
    id              TEXT        NOT NULL,
    conversation_id TEXT        NOT NULL,
    kind            text        NOT NULL,
    reason          text        NOT NULL,
    detail          text        NOT NULL,
    agent_id        TEXT,
    team_id         TEXT,
    portfolio_id    TEXT,
    actor_id        TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX routing_decisions_conversation_idx ON routing_decisions (tenant_id, conversation_id, id);
