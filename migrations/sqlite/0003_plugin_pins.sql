-- A workspace may pin a provider to one installed version; NULL serves the latest.
ALTER TABLE plugin_settings ADD COLUMN pinned_version TEXT;
