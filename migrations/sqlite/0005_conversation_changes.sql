-- When anything shown for a conversation last changed (a message, an edit,
-- a reaction, a delivery status, resolve/reopen): the inbox's live updates
-- poll it per workspace.
ALTER TABLE conversations ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET updated_at = COALESCE(last_message_at, created_at);
CREATE INDEX conversations_changes ON conversations (workspace_id, updated_at);

-- How far each user has read each conversation: unread counts are the
-- customer's messages after it.
CREATE TABLE conversation_reads (
    user_id         TEXT NOT NULL REFERENCES users(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    read_at         INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
);
