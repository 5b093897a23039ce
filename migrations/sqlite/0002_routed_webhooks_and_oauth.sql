-- Channels of providers that route by account id (Instagram, WhatsApp: one
-- URL for the host; VK: one per workspace) are called at a path other than
-- their per-account one. The path the provider was given is kept, so the
-- URL shown is always the URL registered. NULL: /webhooks/{provider}/{channel_key}.
ALTER TABLE channel_accounts ADD COLUMN webhook_path TEXT;

-- OAuth connect: each signed state is accepted once (replays are refused).
CREATE TABLE oauth_states (
    nonce      TEXT PRIMARY KEY,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
