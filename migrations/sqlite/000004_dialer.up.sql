-- Gestão do Discador: per-tenant dialer settings. Without a row, the defaults apply.
CREATE TABLE dialer_settings (
    tenant_id                   TEXT        PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    dial_active_whatsapp        INTEGER     NOT NULL DEFAULT 0,
    prompt_timeout_ms           INTEGER     NOT NULL DEFAULT 30000,
    check_timeout_ms            INTEGER     NOT NULL DEFAULT 2000,
    unavailable_backoff_ms      INTEGER     NOT NULL DEFAULT 60000,
    telephony_adapter           TEXT        NOT NULL DEFAULT 'simulated' CHECK (telephony_adapter IN ('simulated', 'webhook')),
    telephony_url               TEXT,
    telephony_secret            TEXT,
    version                     INTEGER      NOT NULL DEFAULT 1,
    updated_at                  TEXT NOT NULL
);

CREATE TABLE campaigns (
    tenant_id          TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 TEXT        NOT NULL,
    name               TEXT        NOT NULL,
    status             TEXT        NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
    window_days        TEXT        NOT NULL,
    window_start       TEXT        NOT NULL,
    window_end         TEXT        NOT NULL,
    max_attempts       INTEGER     NOT NULL,
    retry_no_answer_s  INTEGER     NOT NULL,
    retry_busy_s       INTEGER     NOT NULL,
    retry_failed_s     INTEGER     NOT NULL,
    retry_whatsapp_s   INTEGER     NOT NULL,
    priority           INTEGER     NOT NULL,
    version            INTEGER      NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE dnc_numbers (
    tenant_id  TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT        NOT NULL,
    e164       text        NOT NULL,
    reason     TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX dnc_numbers_tenant_e164_key ON dnc_numbers (tenant_id, e164);

-- The dial queue. status: queued -> claimed (lease) -> prompting | dialing -> closed, or back to queued.
CREATE TABLE dial_entries (
    tenant_id     TEXT        NOT NULL,
    id            TEXT        NOT NULL,
    campaign_id   TEXT        NOT NULL,
    company_id    TEXT,
    contact_id    TEXT,
    lead_id       TEXT,
    phone_id      TEXT        NOT NULL,
    e164          text        NOT NULL,
    follow_up_id  TEXT,
    status        TEXT        NOT NULL CHECK (status IN ('queued', 'claimed', 'prompting', 'dialing', 'closed')),
    due_at        TEXT NOT NULL,
    priority      INTEGER     NOT NULL,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until   TEXT,
    close_reason  TEXT,
    last_outcome  TEXT,
    version       INTEGER      NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
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
    tenant_id   TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    entry_id    TEXT        NOT NULL,
    attempt     INTEGER     NOT NULL,
    kind        TEXT        NOT NULL,
    reason      TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, entry_id, id)
);

CREATE TABLE agent_sessions (
    tenant_id        TEXT        NOT NULL,
    id               TEXT        NOT NULL,
    campaign_id      TEXT        NOT NULL,
    user_id          TEXT        NOT NULL,
    status           TEXT        NOT NULL CHECK (status IN ('ready', 'prompting', 'on_call', 'wrap_up', 'paused', 'left')),
    pause_reason     TEXT,
    call_id          TEXT,
    prompt_id        TEXT,
    version          INTEGER      NOT NULL DEFAULT 1,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    left_at          TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
-- No index looks at status, which changes on every call: those updates stay on their page (HOT), and the
-- few sessions of a campaign are filtered by status as they are read.
CREATE UNIQUE INDEX agent_sessions_one_per_user ON agent_sessions (tenant_id, user_id) WHERE left_at IS NULL;
CREATE INDEX agent_sessions_campaign_idx ON agent_sessions (tenant_id, campaign_id);

CREATE TABLE dial_prompts (
    tenant_id   TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    entry_id    TEXT        NOT NULL,
    session_id  TEXT        NOT NULL,
    attempt     INTEGER     NOT NULL,
    text        TEXT        NOT NULL,
    status      TEXT        NOT NULL CHECK (status IN ('pending', 'paused', 'continued', 'expired')),
    expires_at  TEXT NOT NULL,
    answered_at TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dial_prompts_expiry_idx ON dial_prompts (expires_at) WHERE status = 'pending';
CREATE UNIQUE INDEX dial_prompts_pending_key ON dial_prompts (tenant_id, entry_id) WHERE status = 'pending';

-- One call per (entry, attempt): a crash and a rescue can never dial an attempt twice.
CREATE TABLE calls (
    tenant_id      TEXT        NOT NULL,
    id             TEXT        NOT NULL,
    entry_id       TEXT        NOT NULL,
    campaign_id    TEXT        NOT NULL,
    attempt        INTEGER     NOT NULL,
    session_id     TEXT        NOT NULL,
    agent_id       TEXT        NOT NULL,
    e164           text        NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('created', 'placed', 'answered', 'ended')),
    outcome        TEXT CHECK (outcome IN ('answered', 'no_answer', 'busy', 'failed')),
    placed_at      TEXT,
    answered_at    TEXT,
    ended_at       TEXT,
    qualified_at   TEXT,
    interaction_id TEXT,
    version        INTEGER      NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX calls_attempt_key ON calls (tenant_id, entry_id, attempt);
CREATE INDEX calls_dispatch_idx ON calls (created_at) WHERE status = 'created';

-- Events for agents' screens (Server-Sent Events), kept so a reconnecting screen can resume.
CREATE TABLE session_events (
    tenant_id  TEXT        NOT NULL,
    id         TEXT        NOT NULL,
    session_id TEXT        NOT NULL,
    kind       TEXT        NOT NULL,
    payload    TEXT       NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, id)
);
