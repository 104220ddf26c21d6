-- Every latchkey serving this store records itself here (`serve` and `run`), heartbeats every
-- few seconds and removes its row on a clean stop, so a `latchkey console` in another process
-- finds the server(s) and shows their public URL and whether they are alive. No trigger bumps
-- meta's counters: a heartbeat must not make other processes reload their configuration.
CREATE TABLE instances (
    id TEXT PRIMARY KEY NOT NULL,
    public_url TEXT NOT NULL,
    listen TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);
CREATE INDEX instances_heartbeat ON instances(heartbeat_at);
