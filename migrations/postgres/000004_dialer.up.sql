-- Gestão do Discador: per-tenant dialer settings. Without a row, the defaults apply.
CREATE TABLE dialer_settings (
    tenant_id                   uuid        PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    dial_active_whatsapp        boolean     NOT NULL DEFAULT false,
    prompt_timeout_ms           integer     NOT NULL DEFAULT 30000,
    check_timeout_ms            integer     NOT NULL DEFAULT 2000,
    unavailable_backoff_ms      integer     NOT NULL DEFAULT 60000,
    telephony_adapter           text        NOT NULL DEFAULT 'simulated' CHECK (telephony_adapter IN ('simulated', 'webhook')),
    telephony_url               text,
    telephony_secret            text,
    version                     bigint      NOT NULL DEFAULT 1,
    updated_at                  timestamptz NOT NULL
);

CREATE TABLE campaigns (
    tenant_id          uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid        NOT NULL,
    name               text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
    window_days        text        NOT NULL,
    window_start       text        NOT NULL,
    window_end         text        NOT NULL,
    max_attempts       integer     NOT NULL,
    retry_no_answer_s  integer     NOT NULL,
    retry_busy_s       integer     NOT NULL,
    retry_failed_s     integer     NOT NULL,
    retry_whatsapp_s   integer     NOT NULL,
    priority           integer     NOT NULL,
    version            bigint      NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE dnc_numbers (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL,
    e164       text        NOT NULL,
    reason     text,
    created_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX dnc_numbers_tenant_e164_key ON dnc_numbers (tenant_id, e164);

-- The dial queue. status: queued -> claimed (lease) -> prompting | dialing -> closed, or back to queued.
CREATE TABLE dial_entries (
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    campaign_id   uuid        NOT NULL,
    company_id    uuid,
    contact_id    uuid,
    lead_id       uuid,
    phone_id      uuid        NOT NULL,
    e164          text        NOT NULL,
    follow_up_id  uuid,
    status        text        NOT NULL CHECK (status IN ('queued', 'claimed', 'prompting', 'dialing', 'closed')),
    due_at        timestamptz NOT NULL,
    priority      integer     NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0,
    lease_owner   text,
    lease_until   timestamptz,
    close_reason  text,
    last_outcome  text,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, phone_id) REFERENCES phones (tenant_id, id)
);
-- Claims scan each campaign's due entries, best first; leases are rescued by expiry.
CREATE INDEX dial_entries_due_idx ON dial_entries (tenant_id, campaign_id, priority DESC, due_at) WHERE status = 'queued';
CREATE INDEX dial_entries_lease_idx ON dial_entries (lease_until) WHERE status = 'claimed';
CREATE INDEX dial_entries_campaign_idx ON dial_entries (tenant_id, campaign_id, id);
CREATE UNIQUE INDEX dial_entries_follow_up_key ON dial_entries (tenant_id, follow_up_id) WHERE follow_up_id IS NOT NULL;

-- Every transition of an entry, with its reason: the audit trail of the dialer.
CREATE TABLE dial_events (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    entry_id    uuid        NOT NULL,
    attempt     integer     NOT NULL,
    kind        text        NOT NULL,
    reason      text,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, entry_id, id)
);

CREATE TABLE agent_sessions (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    campaign_id      uuid        NOT NULL,
    user_id          uuid        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('ready', 'prompting', 'on_call', 'wrap_up', 'paused', 'left')),
    pause_reason     text,
    call_id          uuid,
    prompt_id        uuid,
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    left_at          timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) WITH (fillfactor = 50);
-- No index looks at status, which changes on every call: those updates stay on their page (HOT), and the
-- few sessions of a campaign are filtered by status as they are read.
CREATE UNIQUE INDEX agent_sessions_one_per_user ON agent_sessions (tenant_id, user_id) WHERE left_at IS NULL;
CREATE INDEX agent_sessions_campaign_idx ON agent_sessions (tenant_id, campaign_id);

CREATE TABLE dial_prompts (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    entry_id    uuid        NOT NULL,
    session_id  uuid        NOT NULL,
    attempt     integer     NOT NULL,
    text        text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('pending', 'paused', 'continued', 'expired')),
    expires_at  timestamptz NOT NULL,
    answered_at timestamptz,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dial_prompts_expiry_idx ON dial_prompts (expires_at) WHERE status = 'pending';
CREATE UNIQUE INDEX dial_prompts_pending_key ON dial_prompts (tenant_id, entry_id) WHERE status = 'pending';

-- One call per (entry, attempt): a crash and a rescue can never dial an attempt twice.
CREATE TABLE calls (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    entry_id       uuid        NOT NULL,
    campaign_id    uuid        NOT NULL,
    attempt        integer     NOT NULL,
    session_id     uuid        NOT NULL,
    agent_id       uuid        NOT NULL,
    e164           text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('created', 'placed', 'answered', 'ended')),
    outcome        text CHECK (outcome IN ('answered', 'no_answer', 'busy', 'failed')),
    placed_at      timestamptz,
    answered_at    timestamptz,
    ended_at       timestamptz,
    qualified_at   timestamptz,
    interaction_id uuid,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX calls_attempt_key ON calls (tenant_id, entry_id, attempt);
CREATE INDEX calls_dispatch_idx ON calls (created_at) WHERE status = 'created';

-- Events for agents' screens (Server-Sent Events), kept so a reconnecting screen can resume.
CREATE TABLE session_events (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    session_id uuid        NOT NULL,
    kind       text        NOT NULL,
    payload    json        NOT NULL, -- stored as sent: it is only ever read back whole
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, session_id, id)
);
