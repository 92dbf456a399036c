-- Portfolios (carteiras): contacts grouped and owned by agents, whose waiting lists get their conversations.
CREATE TABLE portfolios (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    type       text        NOT NULL CHECK (type IN ('single', 'shared')),
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX portfolios_name_key ON portfolios (tenant_id, lower(name));

CREATE TABLE portfolio_owners (
    tenant_id    uuid NOT NULL,
    portfolio_id uuid NOT NULL,
    user_id      uuid NOT NULL,
    PRIMARY KEY (tenant_id, portfolio_id, user_id),
    FOREIGN KEY (tenant_id, portfolio_id) REFERENCES portfolios (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX portfolio_owners_user_idx ON portfolio_owners (tenant_id, user_id);

-- Members; a contact may be in several portfolios. Deleting a portfolio removes its members, not contacts.
CREATE TABLE portfolio_contacts (
    tenant_id    uuid        NOT NULL,
    portfolio_id uuid        NOT NULL,
    contact_id   uuid        NOT NULL,
    added_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, portfolio_id, contact_id),
    FOREIGN KEY (tenant_id, portfolio_id) REFERENCES portfolios (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX portfolio_contacts_contact_idx ON portfolio_contacts (tenant_id, contact_id);

-- Whether an agent takes conversations now.
ALTER TABLE users ADD COLUMN availability text NOT NULL DEFAULT 'available' CHECK (availability IN ('available', 'away'));

-- Teams of agents, and how a team distributes conversations: round robin, or to portfolio owners first.
CREATE TABLE teams (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid        NOT NULL,
    name             text        NOT NULL,
    distribution     text        NOT NULL CHECK (distribution IN ('round_robin', 'portfolio')),
    overflow_seconds integer     NOT NULL CHECK (overflow_seconds >= 0),
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX teams_name_key ON teams (tenant_id, lower(name));

CREATE TABLE team_members (
    tenant_id uuid NOT NULL,
    team_id   uuid NOT NULL,
    user_id   uuid NOT NULL,
    PRIMARY KEY (tenant_id, team_id, user_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX team_members_user_idx ON team_members (tenant_id, user_id);
