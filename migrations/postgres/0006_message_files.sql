-- Files an operator attached to a reply. The bytes live in the database so
-- that every process (the API that took the upload, the outbound worker that
-- sends it, the API that shows it) reads the same copy; nothing is kept on a
-- local disk.
CREATE TABLE message_files (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages(id),
    -- Random and unguessable: the file's public link (/media/{token}) for
    -- providers that fetch a URL instead of taking an upload (Instagram).
    public_token TEXT NOT NULL UNIQUE,
    file_name    TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    content      BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX message_files_message ON message_files (message_id);
