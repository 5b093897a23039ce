-- Invitations to a workspace: an owner names an email and a role, the
-- invitee accepts with a password. Only the token's sha256 is kept, as for
-- sessions.
CREATE TABLE invites (
    token_hash   TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    invited_by   TEXT NOT NULL REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT
);
CREATE INDEX invites_workspace ON invites (workspace_id);
