-- Where an event came from: "http", "console", "cli", "blueprint <name>" or "system".
ALTER TABLE events ADD COLUMN origin TEXT NOT NULL DEFAULT '';
