-- Switchboard schema for PostgreSQL (the distributed deployment); the same
-- tables and constraints as migrations/sqlite, in PostgreSQL's types.
-- Times are Unix microseconds (BIGINT). Ids are UUIDv7 text.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- Path segment of the per-workspace webhook URL /webhooks/{provider}/w/{webhook_key}.
    webhook_key TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE sessions (
    -- sha256 of the bearer token: a leaked database does not leak sessions.
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE plugin_settings (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    plugin_id    TEXT NOT NULL,
    enabled      BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, plugin_id)
);

CREATE TABLE channel_accounts (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id),
    provider            TEXT NOT NULL,
    name                TEXT NOT NULL,
    -- Path segment of the per-account webhook URL; random, unguessable.
    channel_key         TEXT NOT NULL UNIQUE,
    provider_account_id TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    status              TEXT NOT NULL,
    last_error          TEXT,
    -- Non-secret configuration fields, JSON object (shown in the API).
    public_config       TEXT NOT NULL,
    -- AEAD-sealed JSON of the whole configuration and the webhook secret.
    sealed_config       BYTEA NOT NULL,
    created_at          BIGINT NOT NULL,
    deleted_at          BIGINT
);
-- One live connection per provider account: a Telegram bot has one webhook URL.
CREATE UNIQUE INDEX channel_accounts_live_account
    ON channel_accounts (provider, provider_account_id) WHERE deleted_at IS NULL;
CREATE INDEX channel_accounts_workspace ON channel_accounts (workspace_id);

CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name         TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX contacts_workspace ON contacts (workspace_id, created_at);

CREATE TABLE contact_identities (
    id                 TEXT PRIMARY KEY,
    contact_id         TEXT NOT NULL REFERENCES contacts(id),
    channel_account_id TEXT NOT NULL REFERENCES channel_accounts(id),
    provider           TEXT NOT NULL,
    provider_user_id   TEXT NOT NULL,
    username           TEXT,
    display_name       TEXT,
    UNIQUE (channel_account_id, provider_user_id)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL REFERENCES workspaces(id),
    channel_account_id TEXT NOT NULL REFERENCES channel_accounts(id),
    contact_id         TEXT NOT NULL REFERENCES contacts(id),
    provider_thread_id TEXT NOT NULL,
    kind               TEXT NOT NULL,
    title              TEXT,
    status             TEXT NOT NULL DEFAULT 'open',
    last_message_at    BIGINT,
    created_at         BIGINT NOT NULL,
    UNIQUE (channel_account_id, provider_thread_id)
);
CREATE INDEX conversations_workspace ON conversations (workspace_id, last_message_at);

CREATE TABLE messages (
    id                  TEXT PRIMARY KEY,
    conversation_id     TEXT NOT NULL REFERENCES conversations(id),
    channel_account_id  TEXT NOT NULL REFERENCES channel_accounts(id),
    direction           TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender_identity_id  TEXT REFERENCES contact_identities(id),
    -- NULL until an outbound message is accepted by the provider.
    provider_message_id TEXT,
    text                TEXT,
    attachments         TEXT NOT NULL DEFAULT '[]',
    -- Provider message id this message answers.
    reply_to            TEXT,
    -- in: received; out: pending, sent, delivered, read, failed.
    status              TEXT NOT NULL,
    error               TEXT,
    reactions           TEXT NOT NULL DEFAULT '[]',
    attempts            BIGINT NOT NULL DEFAULT 0,
    -- When the webhook carrying it arrived at the edge (inbound only).
    received_at         BIGINT,
    -- Provider timestamp of the message.
    sent_at             BIGINT,
    -- When the row was committed.
    created_at          BIGINT NOT NULL,
    edited_at           BIGINT,
    deleted_at          BIGINT,
    -- The dedup key: a provider message is written once per channel account.
    UNIQUE (channel_account_id, provider_message_id)
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at);

-- Webhook events already applied, per channel account: the writer inserts the
-- event's dedup key in the same transaction as its effects.
CREATE TABLE inbound_events (
    channel_account_id TEXT NOT NULL,
    dedup_key          TEXT NOT NULL,
    applied_at         BIGINT NOT NULL,
    PRIMARY KEY (channel_account_id, dedup_key)
);

-- The embedded bus: an append-only log per topic and committed offsets per
-- consumer group. The same file as the data, so a 2xx means it is on disk.
CREATE TABLE bus_records (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      TEXT NOT NULL,
    key        TEXT NOT NULL,
    payload    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX bus_records_topic ON bus_records (topic, seq);

CREATE TABLE bus_offsets (
    consumer_group TEXT NOT NULL,
    topic          TEXT NOT NULL,
    -- Highest sequence number processed.
    committed_seq  BIGINT NOT NULL,
    PRIMARY KEY (consumer_group, topic)
);
